import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientPool } from '../support/clients.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';

const ADMIN_TOKEN = 'example-admin-token-0123456789';

for (const name of ['express', 'koa'] as const) {
  describe(`the ${name} example`, () => {
    let example: ExampleProcess;
    let dataDirectory: string;
    const clients = new ClientPool();

    before(async () => {
      dataDirectory = await mkdtemp(join(tmpdir(), `symphony-${name}-`));
      example = await startExample(name, { SYMPHONY_DATA_DIR: dataDirectory, SYMPHONY_ADMIN_TOKEN: ADMIN_TOKEN });
    });

    after(async () => {
      clients.destroyAll();
      await example.stop();
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

    it('logs structured JSON and exits cleanly on SIGTERM', async () => {
      assert.match(example.log(), /"msg":"listening"/);
      assert.equal(await example.stop(), 0);
    });
  });
}
