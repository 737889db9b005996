import assert from 'node:assert/strict';
import request from 'supertest';
import { EmbeddedMetadataStore, PostgresMetadataStore, silentLogger } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, dropSchema, freshSchemaName, startDashboardServer, TcpProxy, type DashboardServer } from './support.js';
import type { StockClient } from '../support/clients.js';

describe('the metadata recorder', () => {
  let app: DashboardServer;
  const clients = new ClientPool();
  const store = new EmbeddedMetadataStore();

  before(async () => {
    app = await startDashboardServer('express', { dashboard: { metadata: store } });
  });
  after(async () => {
    clients.destroyAll();
    await app.close();
  });

  it('records sessions (user, node, times, messages) and room activity from real clients', async () => {
    const ada = clients.open(app.collabUrl, 'recorded', { params: { token: 'user:ada' } });
    const bob = clients.open(app.collabUrl, 'recorded', { params: { token: 'viewer:bob' } });
    await Promise.all([ada.synced(), bob.synced()]);
    ada.doc.getMap('shapes').set('s1', { x: 1 });
    await waitFor(() => bob.doc.getMap('shapes').has('s1'), 'bob sees the shape');
    bob.destroy();
    await waitFor(() => app.symphony.connections('recorded').length === 1, 'bob gone');
    await app.dashboard.recorder.flush();
    const sessions = await store.recentSessions('recorded', 10);
    const byUser = Object.fromEntries(sessions.map((s) => [s.userId, s]));
    assert.equal(byUser.ada.state, 'open');
    assert.equal(byUser.bob.state, 'closed');
    assert.equal(byUser.bob.readOnly, true);
    assert.ok(byUser.bob.messagesIn > 0 && byUser.bob.messagesOut > 0);
    assert.ok(sessions.every((s) => s.nodeId === app.symphony.nodeId));
    const [record] = await store.getRooms(['recorded']);
    assert.equal(record.peakConnections, 2);
    assert.equal(record.nodeId, app.symphony.nodeId);
    ada.destroy();
  });

  it('tracks document bytes from update sizes, and records the exact size at each checkpoint', async () => {
    const writer = clients.open(app.collabUrl, 'sized');
    await writer.synced();
    for (let i = 0; i < 50; i++) writer.doc.getText('t').insert(0, `line ${i}\n`);
    await waitFor(async () => {
      await app.dashboard.recorder.flush();
      const [record] = await store.getRooms(['sized']);
      return (record?.documentBytes ?? 0) > 0;
    }, 'an estimated size recorded');
    writer.destroy();
    await waitFor(() => app.symphony.room('sized') === undefined, 'room unloaded after its checkpoint');
    await app.dashboard.recorder.flush();
    const exact = (await app.symphony.readState('sized'))?.byteLength;
    const [record] = await store.getRooms(['sized']);
    assert.equal(record.documentBytes, exact);
    assert.ok(record.lastCheckpointAt !== null);
  });
});

describe('the dashboard with Postgres going away mid-run', () => {
  let app: DashboardServer;
  let proxy: TcpProxy;
  const schema = freshSchemaName();
  const clients = new ClientPool();
  const maxQueuedWrites = 20;
  let ada: StockClient;
  let bob: StockClient;

  before(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    const metadata = new PostgresMetadataStore({
      connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/test`,
      schema,
      connectionTimeoutMs: 500,
      queryTimeoutMs: 500,
      logger: silentLogger,
    });
    app = await startDashboardServer('express', {
      dashboard: { metadata, sampleIntervalMs: 50, recorder: { flushIntervalMs: 50, retryMinDelayMs: 50, retryMaxDelayMs: 200, maxQueuedWrites } },
    });
  });
  after(async () => {
    clients.destroyAll();
    proxy.restore();
    await app.close();
    await proxy.close();
    await dropSchema(schema);
  });

  const stats = () => app.dashboard.stats().metadata;
  const api = (path: string) => request(app.server).get(`/admin${path}`).set(bearer());

  it('writes through while Postgres is up', async () => {
    ada = clients.open(app.collabUrl, 'outage', { params: { token: 'user:ada' } });
    await ada.synced();
    await waitFor(async () => (await app.dashboard.metadata.getRooms(['outage'])).length === 1, 'the room recorded in Postgres');
    assert.equal(stats().healthy, true);
  });

  it('keeps collaboration going when Postgres is cut, and reports the failure', async () => {
    proxy.cut();
    bob = clients.open(app.collabUrl, 'outage', { params: { token: 'user:bob' } });
    await bob.synced();
    ada.doc.getText('notes').insert(0, 'still collaborating');
    await waitFor(() => bob.doc.getText('notes').toString() === 'still collaborating', 'bob receives the edit');

    await waitFor(() => stats().writeFailures > 0 && !stats().healthy, 'the failure is counted');
    const reported = await api('/api/stats');
    assert.equal(reported.body.metadata.store, 'postgres');
    assert.equal(reported.body.metadata.healthy, false);
    assert.equal(typeof reported.body.metadata.lastError, 'string');
    const rooms = await api('/api/rooms');
    assert.equal(rooms.status, 200);
    assert.equal(rooms.body.metadata.available, false);
    assert.ok((rooms.body.rooms as { name: string }[]).some((room) => room.name === 'outage'), 'loaded rooms are still listed');
    const details = await api('/api/rooms/outage');
    assert.equal(details.status, 200);
    assert.equal(details.body.connections.length, 2);
    assert.equal(details.body.metadata.available, false);
    const metrics = await api('/metrics');
    assert.match(metrics.text, /symphony_metadata_healthy\{[^}]*\} 0/);
  });

  it('keeps memory bounded while Postgres is down: the oldest queued writes are dropped and counted', async () => {
    for (let i = 0; i < 3 * maxQueuedWrites; i++) {
      await app.symphony.change(`burst-${String(i).padStart(2, '0')}`, (doc) => doc.getMap('m').set('i', i));
    }
    await waitFor(() => stats().dropped > 0, 'writes dropped');
    assert.ok(stats().queued <= maxQueuedWrites, `queued ${stats().queued}`);
  });

  it('never delays a document update while Postgres does not answer at all', async () => {
    proxy.stall();
    const failuresBefore = stats().writeFailures;
    const delays: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      ada.doc.getMap('cursor').set('i', i);
      await waitFor(() => bob.doc.getMap('cursor').get('i') === i, `update ${i} relayed`);
      delays.push(performance.now() - started);
    }
    await waitFor(() => stats().writeFailures > failuresBefore, 'the stalled write times out and is counted', 5_000);
    assert.ok(Math.max(...delays) < 250, `update round trips: ${delays.map((d) => d.toFixed(0)).join(', ')} ms`);
  });

  it('resumes writing once Postgres is back, and catches up with what was kept', async () => {
    proxy.restore();
    await waitFor(() => stats().healthy && stats().queued === 0, 'the queue drained', 10_000);
    const [last] = await app.dashboard.metadata.getRooms([`burst-${String(3 * maxQueuedWrites - 1).padStart(2, '0')}`]);
    assert.ok(last, 'the newest writes reached Postgres');
    const sessions = await app.dashboard.metadata.recentSessions('outage', 10);
    assert.ok(
      sessions.some((s) => s.userId === 'ada'),
      JSON.stringify(sessions),
    );
    const rooms = await api('/api/rooms?prefix=burst-');
    assert.equal(rooms.body.metadata.available, true);
  });

  it('survives connections dropped in the middle of its transactions, as in a database restart', async () => {
    for (let i = 0; i < 20; i++) {
      await app.symphony.change(`restart-${i}`, (doc) => doc.getMap('m').set('i', i));
      const flushed = app.dashboard.recorder.flush();
      // Drops every connection a few event-loop turns into the write: between two of its queries.
      setTimeout(() => proxy.restore(), i % 5);
      await flushed;
    }
    await waitFor(() => stats().healthy && stats().queued === 0, 'writes recovered', 10_000);
    assert.equal((await app.dashboard.metadata.getRooms(['restart-19'])).length, 1);
  });
});
