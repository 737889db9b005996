import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
