import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import type * as Y from 'yjs';
import { dashboardRouter as expressDashboard } from '../../integrations/express.js';
import { dashboardRouter as koaDashboard } from '../../integrations/koa.js';
import { attachSymphony, ConfigurationError, EmbeddedMetadataStore, MemoryStore, silentLogger, type RoomListItem } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { buildDashboardPage } from '../../dashboard-ui/build.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, frameworks, startDashboardServer, TOKEN, type DashboardServer } from './support.js';

// The page is served prebuilt, never built by the server: build it here as `npm start` does.
before(async function () {
  this.timeout(60_000);
  await buildDashboardPage({ onlyIfStale: true });
});

describe('dashboard router configuration', () => {
  it('refuses to start without a token or an authorize function, in Express and Koa', async () => {
    const server = createServer();
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger });
    try {
      assert.throws(() => expressDashboard(symphony, {}), ConfigurationError);
      assert.throws(() => koaDashboard(symphony, {}), ConfigurationError);
      assert.throws(() => expressDashboard(symphony, { token: '' }), /non-empty/);
      assert.throws(() => koaDashboard(symphony, { token: TOKEN, prefix: 'admin/' }), /prefix/);
    } finally {
      await symphony.close();
    }
  });

  it('answers 503 naming `npm run build` when the page was never built, and the API still works', async () => {
    const emptyDirectory = await mkdtemp(join(tmpdir(), 'symphony-no-page-'));
    const app = await startDashboardServer('express', { dashboard: { uiDirectory: emptyDirectory } });
    try {
      const page = await request(app.server).get('/admin/');
      assert.equal(page.status, 503);
      assert.match(page.text, /run `npm run build`/);
      assert.equal((await request(app.server).get('/admin/api/stats').set(bearer())).status, 200);
    } finally {
      await app.close();
      await rm(emptyDirectory, { recursive: true, force: true });
    }
  });
});

for (const framework of frameworks) {
  describe(`dashboard routes (${framework})`, () => {
    let app: DashboardServer;
    const clients = new ClientPool();
    const metadata = new EmbeddedMetadataStore();

    before(async () => {
      app = await startDashboardServer(framework, { dashboard: { metadata } });
    });
    after(async () => {
      clients.destroyAll();
      await app.close();
    });

    const get = (path: string) => request(app.server).get(`/admin${path}`);
    const api = (path: string) => get(path).set(bearer());

    describe('access', () => {
      const protectedPaths = ['/api/rooms', '/api/rooms/some-room', '/api/rooms/some-room/document', '/api/stats', '/api/cluster', '/api/events', '/api/nowhere', '/metrics'];

      it('answers 401 without a bearer token, with no data', async () => {
        for (const path of protectedPaths) {
          const response = await get(path);
          assert.equal(response.status, 401, path);
          assert.deepEqual(response.body, { error: 'unauthorized', code: 'unauthorized' }, path);
          assert.match(response.headers['www-authenticate'], /^Bearer/);
        }
      });

      it('answers 401 to a wrong token or another scheme', async () => {
        for (const authorization of [`Bearer ${TOKEN}x`, 'Bearer ', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, TOKEN]) {
          const response = await get('/api/stats').set('authorization', authorization);
          assert.equal(response.status, 401, authorization);
          assert.deepEqual(response.body, { error: 'unauthorized', code: 'unauthorized' });
        }
      });

      it('serves the page without a token: it holds no data and asks for one', async () => {
        const page = await get('/');
        assert.equal(page.status, 200);
        assert.match(page.headers['content-type'], /text\/html/);
        assert.match(page.text, /Admin token/);
        assert.match(page.headers['content-security-policy'], /default-src 'self'/);
        const script = await get('/app.js');
        assert.equal(script.status, 200);
        assert.match(script.headers['content-type'], /javascript/);
        const revalidated = await get('/').set('if-none-match', page.headers.etag);
        assert.equal(revalidated.status, 304);
      });

      it('redirects the mount point to its trailing-slash form, which relative links need', async () => {
        const response = await request(app.server).get('/admin');
        assert.equal(response.status, 308);
        assert.equal(response.headers.location, '/admin/');
      });

      it('answers 404 to unknown paths and 405 to anything but GET', async () => {
        assert.equal((await get('/nothing-here.js')).status, 404);
        assert.equal((await api('/api/nowhere')).status, 404);
        assert.equal((await api('/api/rooms/a/b/c')).status, 404);
        const post = await request(app.server).post('/admin/api/rooms').set(bearer());
        assert.equal(post.status, 405);
      });
    });

    describe('GET /api/rooms', () => {
      it('lists a room a y-websocket client joined, live, with its connection count', async () => {
        const client = clients.open(app.collabUrl, 'list-live', { params: { token: 'user:ada' } });
        await client.synced();
        client.doc.getMap('shapes').set('s1', { kind: 'rect' });
        await waitFor(() => (app.symphony.room('list-live')?.documentBytes ?? 0) > 0, 'update applied');
        const response = await api('/api/rooms?prefix=list-live');
        assert.equal(response.status, 200);
        assert.equal(response.body.total, 1);
        const [room] = response.body.rooms as RoomListItem[];
        assert.equal(room.name, 'list-live');
        assert.equal(room.loaded, true);
        assert.equal(room.connections, 1);
        assert.ok((room.documentBytes ?? 0) > 0);
        assert.deepEqual(room.nodes, [app.symphony.nodeId]);
        assert.deepEqual(response.body.metadata, { available: true });
        client.destroy();
      });

      it('keeps listing a room after it unloads, from the metadata store', async () => {
        const client = clients.open(app.collabUrl, 'list-unloaded');
        await client.synced();
        client.doc.getText('notes').insert(0, 'hello');
        await waitFor(() => (app.symphony.room('list-unloaded')?.documentBytes ?? 0) > 0, 'update applied');
        client.destroy();
        await waitFor(() => app.symphony.room('list-unloaded') === undefined, 'room unloaded');
        await app.dashboard.recorder.flush();
        const response = await api('/api/rooms?prefix=list-unloaded');
        const [room] = response.body.rooms as RoomListItem[];
        assert.equal(room.loaded, false);
        assert.equal(room.connections, 0);
        assert.equal(room.peakConnections, 1);
        assert.ok(room.lastCheckpointAt !== null);
        assert.ok((room.documentBytes ?? 0) > 0);
      });

      it('sorts, filters by prefix and paginates across loaded and stored rooms as one list', async () => {
        const names = Array.from({ length: 24 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
        const isLoaded = (i: number) => i % 3 === 1;
        // Stored-only rooms, as another node or an earlier run left them...
        const base = Date.parse('2026-01-01T00:00:00Z');
        await metadata.write({
          nodeId: 'other-node',
          at: new Date(),
          nodeStartedAt: null,
          sessions: [],
          rooms: names
            .filter((_, i) => !isLoaded(i))
            .map((name, i) => ({
              name,
              firstActivityAt: new Date(base + i * 1000),
              lastActivityAt: new Date(base + i * 1000),
              documentBytes: i * 10,
              documentBytesAt: new Date(base),
              peakConnections: 1,
              lastCheckpointAt: null,
            })),
        });
        // ...interleaved with rooms loaded here, kept loaded by a connected client each.
        const holders = names.filter((_, i) => isLoaded(i)).map((name) => ({ name, client: clients.open(app.collabUrl, name) }));
        await Promise.all(holders.map(({ client }) => client.synced()));
        holders.forEach(({ client }, i) => client.doc.getArray('items').push(['x'.repeat(i * 7)]));
        await waitFor(() => holders.every(({ name }) => (app.symphony.room(name)?.documentBytes ?? 0) > 0), 'every update applied');

        for (const [sort, order] of [['name', 'asc'], ['name', 'desc'], ['lastActivity', 'desc'], ['documentBytes', 'desc'], ['documentBytes', 'asc'], ['connections', 'desc']] as const) {
          const all = await api(`/api/rooms?prefix=page-&sort=${sort}&order=${order}&limit=500`);
          assert.equal(all.body.total, 24);
          const expected = (all.body.rooms as RoomListItem[]).map((room) => room.name);
          assert.deepEqual([...expected].sort(), names);
          for (const limit of [1, 5, 7]) {
            const paged: string[] = [];
            for (let offset = 0; offset < 24; offset += limit) {
              const page = await api(`/api/rooms?prefix=page-&sort=${sort}&order=${order}&offset=${offset}&limit=${limit}`);
              assert.equal(page.status, 200);
              assert.equal(page.body.total, 24);
              paged.push(...(page.body.rooms as RoomListItem[]).map((room) => room.name));
            }
            assert.deepEqual(paged, expected, `${sort} ${order} by ${limit}`);
          }
        }
        const byName = (await api('/api/rooms?prefix=page-&sort=name&limit=4')).body.rooms as RoomListItem[];
        assert.deepEqual(
          byName.map((room) => [room.name, room.loaded, room.connections]),
          [
            ['page-00', false, 0],
            ['page-01', true, 1],
            ['page-02', false, 0],
            ['page-03', false, 0],
          ],
        );
        const byConnections = (await api('/api/rooms?prefix=page-&sort=connections&limit=9')).body.rooms as RoomListItem[];
        assert.deepEqual(
          byConnections.map((room) => room.connections),
          [1, 1, 1, 1, 1, 1, 1, 1, 0],
        );
        const bySize = (await api('/api/rooms?prefix=page-&sort=documentBytes&order=desc&limit=1')).body.rooms as RoomListItem[];
        assert.equal(bySize[0].name, 'page-23');
        for (const { client } of holders) client.destroy();
      });

      it('answers 400 to out-of-bounds or malformed pagination, and an empty page past the end', async () => {
        for (const query of ['limit=0', 'limit=501', 'limit=-1', 'offset=-1', 'offset=1.5', 'limit=ten', 'sort=size', 'order=up', `prefix=${'x'.repeat(1025)}`]) {
          const response = await api(`/api/rooms?${query}`);
          assert.equal(response.status, 400, query);
          assert.equal(typeof response.body.error, 'string');
        }
        const past = await api('/api/rooms?prefix=page-&offset=1000&limit=10');
        assert.equal(past.status, 200);
        assert.deepEqual(past.body.rooms, []);
        assert.equal(past.body.total, 24);
        const last = await api('/api/rooms?prefix=page-&sort=name&offset=23&limit=500');
        assert.deepEqual(
          (last.body.rooms as RoomListItem[]).map((room) => room.name),
          ['page-23'],
        );
      });

      it('treats the prefix literally, wildcards included', async () => {
        await app.symphony.change('100%_done', (doc) => doc.getMap('m').set('k', 1));
        await app.symphony.change('100abc', (doc) => doc.getMap('m').set('k', 1));
        await app.dashboard.recorder.flush();
        const response = await api(`/api/rooms?prefix=${encodeURIComponent('100%_')}`);
        assert.deepEqual(
          (response.body.rooms as RoomListItem[]).map((room) => room.name),
          ['100%_done'],
        );
      });
    });

    describe('GET /api/rooms/:room', () => {
      it('shows connections with user id, since when and read-only, and recent sessions', async () => {
        const editor = clients.open(app.collabUrl, 'details', { params: { token: 'user:grace' } });
        const viewer = clients.open(app.collabUrl, 'details', { params: { token: 'viewer:linus' } });
        await Promise.all([editor.synced(), viewer.synced()]);
        editor.provider.awareness.setLocalStateField('user', { name: 'Grace' });
        await waitFor(() => app.symphony.presence('details').size > 0, 'presence relayed');
        await app.dashboard.recorder.flush();
        const response = await api('/api/rooms/details');
        assert.equal(response.status, 200);
        assert.equal(response.body.room.connections, 2);
        const connections = response.body.connections as { userId: string; readOnly: boolean; connectedAt: string }[];
        assert.deepEqual(connections.map((c) => [c.userId, c.readOnly]).sort(), [
          ['grace', false],
          ['linus', true],
        ]);
        assert.ok(connections.every((c) => !Number.isNaN(Date.parse(c.connectedAt))));
        const names = (response.body.presence as { state: { user?: { name: string } } }[]).map((p) => p.state.user?.name);
        assert.ok(names.includes('Grace'), JSON.stringify(names));
        const sessions = response.body.sessions as { userId: string; state: string; nodeId: string }[];
        assert.deepEqual(sessions.map((s) => s.userId).sort(), ['grace', 'linus']);
        assert.ok(sessions.every((s) => s.state === 'open' && s.nodeId === app.symphony.nodeId));
      });

      it('answers 404 for an unknown room and 400 for a malformed name', async () => {
        const unknown = await api('/api/rooms/never-seen');
        assert.equal(unknown.status, 404);
        assert.deepEqual(unknown.body, { error: 'room not found', code: 'room_not_found', room: 'never-seen' });
        assert.equal((await api('/api/rooms/never-seen/document')).status, 404);
        assert.equal((await api('/api/rooms/%E0%A4%A')).status, 400);
        assert.equal((await api('/api/rooms/bad%0Aname')).status, 400);
      });

      it('finds rooms with odd names: slashes, dots, spaces, percent signs, emoji', async () => {
        for (const name of ['team/a b', '...', '50% off?#x', 'ünïcödé 🎹', ' ']) {
          const segment = encodeURIComponent(name).replace(/\./g, '%2E');
          const client = clients.open(app.collabUrl, segment);
          await client.synced();
          client.doc.getMap('meta').set('title', name);
          await waitFor(() => (app.symphony.room(name)?.documentBytes ?? 0) > 0, `update in ${JSON.stringify(name)}`);
          const details = await api(`/api/rooms/${segment}`);
          assert.equal(details.status, 200, name);
          assert.equal(details.body.room.name, name);
          const document = await api(`/api/rooms/${segment}/document`);
          assert.equal(document.status, 200, name);
          assert.deepEqual(document.body.document, { meta: { title: name } });
          client.destroy();
        }
      });

      it('finds a room named "..", which no URL parser lets a WebSocket client reach', async () => {
        await app.symphony.change('..', (doc) => doc.getMap('meta').set('title', 'dots'));
        const document = await api('/api/rooms/%2E%2E/document');
        assert.equal(document.status, 200);
        assert.deepEqual(document.body.document, { meta: { title: 'dots' } });
        const details = await api('/api/rooms/%2E%2E');
        assert.equal(details.body.room.name, '..');
      });
    });

    describe('GET /api/cluster on a single node', () => {
      it('answers with this node and no cluster, and room details carry no holders', async () => {
        const response = await api('/api/cluster');
        assert.equal(response.status, 200);
        assert.equal(response.body.nodeId, app.symphony.nodeId);
        assert.equal(response.body.cluster, null);
        assert.ok(Math.abs(Date.now() - response.body.readAt) < 60_000, 'readAt is a recent time in ms');
        assert.equal((await api('/api/cluster/extra')).status, 404);

        await app.symphony.change('single-node-room', (doc) => doc.getMap('m').set('k', 1));
        const details = await api('/api/rooms/single-node-room');
        assert.equal(details.status, 200);
        for (const field of ['holders', 'writer', 'cluster']) assert.equal(field in details.body, false, field);
      });
    });

    describe('GET /api/stats and /metrics', () => {
      it('reports totals: rooms, connections, messages per second, memory, uptime, failures', async () => {
        const client = clients.open(app.collabUrl, 'stats-room');
        await client.synced();
        for (let i = 0; i < 20; i++) client.doc.getArray('a').push([i]);
        await waitFor(async () => (await api('/api/stats')).body.messagesPerSecond.in > 0, 'a non-zero message rate', 5_000);
        const { body } = await api('/api/stats');
        assert.equal(body.nodeId, app.symphony.nodeId);
        assert.ok(body.rooms >= 1);
        assert.ok(body.connections >= 1);
        assert.ok(body.messages.in >= 20);
        assert.ok(body.memory.rssBytes > 0);
        assert.ok(body.cpu.user > 0 && body.cpu.system >= 0, 'the process CPU time, for load tests to read');
        assert.ok(body.uptimeMs > 0);
        assert.deepEqual(Object.keys(body.checkpoints), ['written', 'failed']);
        assert.equal(body.metadata.store, 'embedded');
        assert.equal(body.metadata.healthy, true);
        assert.equal(body.metadata.writeFailures, 0);
        client.destroy();
      });

      it('exposes the same figures in the Prometheus text format', async () => {
        const response = await api('/metrics');
        assert.equal(response.status, 200);
        assert.match(response.headers['content-type'], /text\/plain/);
        assert.match(response.text, /# TYPE symphony_connections gauge/);
        assert.match(response.text, /# TYPE symphony_messages_received_total counter/);
        assert.match(response.text, new RegExp(`symphony_rooms_loaded\\{node_id="${app.symphony.nodeId}"\\} \\d+`));
        assert.match(response.text, /symphony_metadata_write_failures_total\{node_id="[^"]+"\} 0/);
        assert.match(response.text, /symphony_checkpoint_failures_total/);
      });
    });
  });
}

describe('dashboard authorize functions', () => {
  const servers: DashboardServer[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it("lets Express requests in when authorize accepts Express' request", async () => {
    const app = await startDashboardServer('express', { dashboard: { token: undefined, authorize: (request) => request.get('x-admin') === 'yes' } });
    servers.push(app);
    assert.equal((await request(app.server).get('/admin/api/stats').set('x-admin', 'yes')).status, 200);
    assert.equal((await request(app.server).get('/admin/api/stats').set('x-admin', 'no')).status, 401);
  });

  it("lets Koa requests in when authorize accepts Koa's context, and refuses when it throws", async () => {
    const app = await startDashboardServer('koa', {
      dashboard: {
        token: undefined,
        koaAuthorize: (context) => {
          if (context.get('x-admin') === 'boom') throw new Error('session store down');
          return context.get('x-admin') === 'yes';
        },
      },
    });
    servers.push(app);
    assert.equal((await request(app.server).get('/admin/api/stats').set('x-admin', 'yes')).status, 200);
    assert.equal((await request(app.server).get('/admin/api/stats').set('x-admin', 'boom')).status, 401);
    assert.equal((await request(app.server).get('/admin/api/stats')).status, 401);
  });

  it('accepts the token or authorize when both are configured', async () => {
    const app = await startDashboardServer('express', { dashboard: { authorize: (request) => request.get('x-admin') === 'yes' } });
    servers.push(app);
    assert.equal((await request(app.server).get('/admin/api/stats').set(bearer())).status, 200);
    assert.equal((await request(app.server).get('/admin/api/stats').set('x-admin', 'yes')).status, 200);
    assert.equal((await request(app.server).get('/admin/api/stats').set(bearer('nope'))).status, 401);
  });

  it('mounts under any Express path', async () => {
    const server = createServer();
    const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger });
    const router = expressDashboard(symphony, { token: TOKEN, logger: silentLogger });
    const host = express();
    host.use('/internal/symphony', router);
    server.on('request', host);
    try {
      await symphony.change('mounted', (doc: Y.Doc) => doc.getMap('m').set('a', 1));
      const response = await request(server).get('/internal/symphony/api/rooms').set(bearer());
      assert.deepEqual(
        (response.body.rooms as RoomListItem[]).map((room) => room.name),
        ['mounted'],
      );
      assert.equal((await request(server).get('/internal/symphony')).headers.location, '/internal/symphony/');
    } finally {
      await router.close();
      await symphony.close();
    }
  });
});
