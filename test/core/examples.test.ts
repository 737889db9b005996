import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ClientPool } from '../support/clients.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';
import { WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

const ADMIN_TOKEN = 'examples-test-admin-token';

for (const name of ['express', 'koa'] as const) {
  describe(`the ${name} example`, () => {
    let example: ExampleProcess;
    let dataDirectory: string;
    let receiver: WebhookReceiver;
    const clients = new ClientPool();

    before(async () => {
      dataDirectory = await mkdtemp(join(tmpdir(), `symphony-${name}-`));
      receiver = await WebhookReceiver.start();
      example = await startExample(name, {
        SYMPHONY_DATA_DIR: dataDirectory,
        SYMPHONY_ADMIN_TOKEN: ADMIN_TOKEN,
        SYMPHONY_WEBHOOK_URL: receiver.url,
        SYMPHONY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      });
    });

    after(async () => {
      clients.destroyAll();
      await example.stop();
      await receiver.close();
      await rm(dataDirectory, { recursive: true, force: true });
    });

    it('keeps serving its own routes', async () => {
      const response = await fetch(`${example.baseUrl}/api/hello`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { message: 'Hello from the host app' });
    });

    it('answers /healthz with 200 while accepting', async () => {
      assert.equal((await fetch(`${example.baseUrl}/healthz`)).status, 200);
    });

    it('serves the dashboard at /admin/ behind SYMPHONY_ADMIN_TOKEN', async () => {
      assert.equal((await fetch(`${example.baseUrl}/admin/api/stats`)).status, 401);
      const stats = await fetch(`${example.baseUrl}/admin/api/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(stats.status, 200);
      assert.equal(typeof ((await stats.json()) as { rooms: unknown }).rooms, 'number');
      assert.equal((await fetch(`${example.baseUrl}/admin/`)).status, 200);
    });

    it('lets two stock clients edit a room together', async () => {
      const alice = clients.open(example.collabUrl, 'example-room');
      const bob = clients.open(example.collabUrl, 'example-room');
      await Promise.all([alice.synced(), bob.synced()]);
      alice.doc.getMap('shapes').set('a', 'circle');
      await waitFor(() => bob.doc.getMap('shapes').get('a') === 'circle', 'bob sees the circle');
    });

    if (name === 'express') {
      it('answers /api/cluster only with the admin token', async () => {
        assert.equal((await fetch(`${example.baseUrl}/api/cluster`)).status, 401);
        assert.equal((await fetch(`${example.baseUrl}/api/cluster`, { headers: { authorization: 'Bearer guess' } })).status, 401);
        const answer = await fetch(`${example.baseUrl}/api/cluster`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        assert.equal(answer.status, 200);
        assert.equal(((await answer.json()) as { cluster: unknown }).cluster, null);
      });
    }

    it('refuses to start in cluster mode without SYMPHONY_ADMIN_TOKEN, with a clear error', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}/server.ts`], {
        env: {
          ...process.env,
          PORT: '0',
          HOST: '127.0.0.1',
          REDIS_URL: 'redis://127.0.0.1:6379',
          SYMPHONY_S3_BUCKET: 'unused',
          SYMPHONY_DYNAMODB_TABLE: 'unused',
          SYMPHONY_ADMIN_TOKEN: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.notEqual(code, 0, output);
      assert.match(output, /SYMPHONY_ADMIN_TOKEN must be set in cluster mode/);
    });

    it('refuses a WebSocket from a page of another site with 403 and accepts its own pages', async () => {
      assert.equal(await originOutcome(`${example.collabUrl}/origin-room`, 'https://evil.example'), 403);
      assert.equal(await originOutcome(`${example.collabUrl}/origin-room`, example.baseUrl), 'open');
    });

    it('sends signed webhooks to SYMPHONY_WEBHOOK_URL', async () => {
      const client = clients.open(example.collabUrl, 'webhook-room');
      await client.synced();
      const joined = await receiver.next((r) => r.event.type === 'user.joined' && r.event.data.room === 'webhook-room', 'user.joined');
      assert.equal(joined.verified, true);
    });

    it('logs structured JSON and exits cleanly on SIGTERM', async () => {
      assert.match(example.log(), /"msg":"listening"/);
      assert.equal(await example.stop(), 0);
    });
  });
}

describe('the express example with SYMPHONY_ALLOWED_ORIGINS', () => {
  let example: ExampleProcess;
  let dataDirectory: string;

  before(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'symphony-origins-'));
    example = await startExample('express', { SYMPHONY_DATA_DIR: dataDirectory, SYMPHONY_ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com' });
  });
  after(async () => {
    await example.stop();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('accepts the listed origins besides its own, and refuses the others', async () => {
    assert.equal(await originOutcome(`${example.collabUrl}/listed`, 'https://app.example.com'), 'open');
    assert.equal(await originOutcome(`${example.collabUrl}/listed`, 'https://admin.example.com'), 'open');
    assert.equal(await originOutcome(`${example.collabUrl}/listed`, example.baseUrl), 'open');
    assert.equal(await originOutcome(`${example.collabUrl}/listed`, 'https://evil.example'), 403);
    assert.match(example.log(), /allowedOrigins/);
  });
});

/** `open`, or the HTTP status of the refused upgrade, for a WebSocket sent with an `Origin` header. */
function originOutcome(url: string, origin: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { origin });
    socket.on('error', () => undefined);
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => {
      socket.terminate();
      resolve(response.statusCode ?? 0);
    });
  });
}
