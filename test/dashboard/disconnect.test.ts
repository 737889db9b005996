import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { dashboardRouter as expressDashboard } from '../../integrations/express.js';
import { attachSymphony, MemoryStore, silentLogger } from '../../lib/index.js';
import { ClientPool, type StockClient } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, frameworks, startDashboardServer, TOKEN, type DashboardServer } from './support.js';

/** Resolves with the close code a stock provider received from the server. */
function closeCode(client: StockClient): Promise<number> {
  return new Promise((resolve) => client.provider.once('connection-close', (event: CloseEvent | null) => resolve(event?.code ?? 0)));
}

for (const framework of frameworks) {
  describe(`dashboard: disconnecting from a room (${framework})`, () => {
    let app: DashboardServer;
    const clients = new ClientPool();

    before(async () => {
      app = await startDashboardServer(framework);
    });
    after(async () => {
      clients.destroyAll();
      await app.close();
    });

    const post = (room: string) => request(app.server).post(`/admin/api/rooms/${encodeURIComponent(room)}/disconnect`);

    async function join(room: string, userId: string): Promise<StockClient> {
      const client = clients.open(app.collabUrl, room, { params: { token: `user:${userId}` } });
      await client.synced();
      return client;
    }

    it('closes one user’s connections with 4401 and answers { closed: N }', async () => {
      const mallory = await join('team', 'mallory');
      const trent = await join('team', 'trent');
      const closed = closeCode(mallory);
      const response = await post('team').set(bearer()).send({ userId: 'mallory' });
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { closed: 1 });
      assert.equal(await closed, 4401);
      await waitFor(() => app.symphony.connections('team').length === 1, 'mallory is gone');
      assert.equal(app.symphony.connections('team')[0].userId, 'trent');
      trent.destroy();
    });

    it('closes one connection by its id', async () => {
      await join('by-id', 'peggy');
      await join('by-id', 'peggy');
      const [target] = app.symphony.connections('by-id');
      const response = await post('by-id').set(bearer()).send({ connectionId: target.id });
      assert.deepEqual(response.body, { closed: 1 });
      await waitFor(() => app.symphony.connections('by-id').every((connection) => connection.id !== target.id), 'that connection is gone');
      assert.equal(app.symphony.connections('by-id').length, 1);
    });

    it('closes everyone in the room when the request has no body, and nobody elsewhere', async () => {
      await join('all', 'a');
      await join('all', 'b');
      const bystander = await join('other', 'c');
      const response = await post('all').set(bearer());
      assert.deepEqual(response.body, { closed: 2 });
      await waitFor(() => app.symphony.connections('all').length === 0, 'the room is empty');
      assert.equal(app.symphony.connections('other').length, 1);
      assert.equal(bystander.provider.wsconnected, true);
    });

    it('answers { closed: 0 } for a room without connections', async () => {
      const response = await post('nobody-here').set(bearer()).send({ userId: 'x' });
      assert.deepEqual(response.body, { closed: 0 });
    });

    it('answers 401 without the admin token, and closes nothing', async () => {
      await join('guarded', 'victor');
      const response = await post('guarded').send({ userId: 'victor' });
      assert.equal(response.status, 401);
      assert.equal(app.symphony.connections('guarded').length, 1);
    });

    it('refuses a request from a page of another site with 403, even with credentials', async () => {
      await join('csrf', 'walter');
      const response = await post('csrf').set(bearer()).set('origin', 'https://evil.example').send({});
      assert.equal(response.status, 403);
      assert.equal(app.symphony.connections('csrf').length, 1);
    });

    it('answers 400 to a malformed body or a field of the wrong type', async () => {
      const malformed = await post('bad').set(bearer()).set('content-type', 'application/json').send('{"userId":');
      assert.equal(malformed.status, 400);
      const wrongType = await post('bad').set(bearer()).send({ userId: 42 });
      assert.equal(wrongType.status, 400);
      assert.match(wrongType.body.error, /"userId" must be a string/);
      const unknownField = await post('bad').set(bearer()).send({ user: 'x' });
      assert.equal(unknownField.status, 400);
    });

    it('answers 405 to a POST anywhere else', async () => {
      const response = await request(app.server).post('/admin/api/rooms/x').set(bearer());
      assert.equal(response.status, 405);
    });
  });
}

describe('dashboard: disconnecting behind express.json()', () => {
  it('reads the body the host app’s parser already consumed', async () => {
    const server = createServer();
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger, authenticate: ({ token }) => ({ userId: token ?? 'anonymous' }) });
    const app = express();
    app.use(express.json());
    const router = expressDashboard(symphony, { token: TOKEN, logger: silentLogger });
    app.use('/admin', router);
    server.on('request', app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const clients = new ClientPool();
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/collab`;
      const keep = clients.open(url, 'parsed', { params: { token: 'keep' } });
      const drop = clients.open(url, 'parsed', { params: { token: 'drop' } });
      await keep.synced();
      await drop.synced();
      const response = await request(server).post('/admin/api/rooms/parsed/disconnect').set(bearer()).send({ userId: 'drop' });
      assert.deepEqual(response.body, { closed: 1 });
      await waitFor(() => symphony.connections('parsed').length === 1, 'one is left');
      assert.equal(symphony.connections('parsed')[0].userId, 'keep');
    } finally {
      clients.destroyAll();
      await router.close();
      await symphony.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
