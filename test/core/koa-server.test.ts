import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { attachSymphony, MemoryStore, silentLogger, type Symphony } from '../../lib/index.js';
import { createKoaServer, dashboardRouter, healthMiddleware, type DashboardMiddleware } from '../../integrations/koa.js';
import { ClientPool } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'koa-server-test-token';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server, symphony: Symphony, dashboard?: DashboardMiddleware): Promise<void> {
  await dashboard?.close();
  await symphony.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('createKoaServer', () => {
  const clients = new ClientPool();
  after(() => clients.destroyAll());

  it("serves the README's Koa pattern: the app's routes, health, dashboard and the collaboration endpoint", async () => {
    // As in the README: the server first, then Symphony, then the middleware that needs it.
    const app = new Koa();
    app.use(async (context, next) => {
      if (context.path !== '/api/hello') return next();
      context.body = { message: 'hello' };
    });
    const server = createKoaServer(app);
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger });
    app.use(healthMiddleware(symphony));
    const dashboard = dashboardRouter(symphony, { prefix: '/admin', token: TOKEN, logger: silentLogger });
    app.use(dashboard);
    const origin = await listen(server);
    try {
      assert.deepEqual(await (await fetch(`${origin}/api/hello`)).json(), { message: 'hello' });
      const health = await fetch(`${origin}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
      assert.equal((await fetch(`${origin}/admin/api/stats`)).status, 401);
      const stats = await fetch(`${origin}/admin/api/stats`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(stats.status, 200);
      assert.equal(((await stats.json()) as { rooms: number }).rooms, 0);

      const alice = clients.open(`${origin.replace('http', 'ws')}/collab`, 'koa-room');
      const bob = clients.open(`${origin.replace('http', 'ws')}/collab`, 'koa-room');
      await Promise.all([alice.synced(), bob.synced()]);
      alice.doc.getMap('shapes').set('a', 'circle');
      await waitFor(() => bob.doc.getMap('shapes').get('a') === 'circle', 'bob sees the circle');
    } finally {
      await stop(server, symphony, dashboard);
    }
  });

  it('serves middleware added after it is listening and has answered requests', async () => {
    const app = new Koa();
    const server = createKoaServer(app);
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger });
    const origin = await listen(server);
    try {
      assert.equal((await fetch(`${origin}/healthz`)).status, 404, 'no health route yet');
      app.use(healthMiddleware(symphony));
      assert.equal((await fetch(`${origin}/healthz`)).status, 200);
    } finally {
      await stop(server, symphony);
    }
  });

  it("differs from Koa's app.listen(), which never reaches middleware added after it", async () => {
    const app = new Koa();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger });
    app.use(healthMiddleware(symphony));
    try {
      assert.equal((await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`)).status, 404);
    } finally {
      await stop(server, symphony);
    }
  });
});
