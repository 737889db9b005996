import assert from 'node:assert/strict';
import request from 'supertest';
import type { ClusterView } from '../../lib/index.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, ScriptedClusterReplicator, startDashboardServer, type DashboardServer } from './support.js';

const heartbeatAt = Date.now();
const twoNodes: ClusterView = {
  rooms: [
    {
      room: 'board',
      holders: [
        { nodeId: 'node-a', url: 'http://10.0.0.1:3000', heartbeatAt },
        { nodeId: 'node-b', url: 'http://10.0.0.2:3000', heartbeatAt },
      ],
      writer: 'node-b',
    },
    { room: 'empty-elsewhere', holders: [{ nodeId: 'node-b', url: 'http://10.0.0.2:3000', heartbeatAt }], writer: null },
  ],
  nodes: [
    { nodeId: 'node-a', url: 'http://10.0.0.1:3000', rooms: 1, heartbeatAt },
    { nodeId: 'node-b', url: 'http://10.0.0.2:3000', rooms: 2, heartbeatAt },
  ],
};

describe('dashboard cluster view (a replicator with a scripted view)', () => {
  const servers: DashboardServer[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  const start = async (replicator: ScriptedClusterReplicator, clusterViewMaxAgeMs: number) => {
    const app = await startDashboardServer('express', { symphony: { nodeId: 'node-a', replicator }, dashboard: { clusterViewMaxAgeMs } });
    servers.push(app);
    await app.symphony.ready();
    return (path: string) => request(app.server).get(`/admin${path}`).set(bearer());
  };

  it('answers GET /api/cluster with the view, and a room its holders and writer', async () => {
    const api = await start(new ScriptedClusterReplicator(twoNodes), 60_000);
    const response = await api('/api/cluster');
    assert.equal(response.status, 200);
    assert.equal(response.body.nodeId, 'node-a');
    assert.deepEqual(response.body.cluster, twoNodes);

    const nowhere = await api('/api/rooms/nowhere');
    assert.equal(nowhere.status, 404, 'a room nobody wrote nor holds');
    const held = await api('/api/rooms/empty-elsewhere');
    assert.equal(held.status, 200);
    assert.equal(held.body.room.name, 'empty-elsewhere');
    assert.deepEqual(held.body.holders, twoNodes.rooms[1].holders);
    assert.equal(held.body.writer, null);
    assert.deepEqual(held.body.cluster, { available: true, readAt: response.body.readAt });
  });

  it('includes the holders of a room loaded here, and none for a room no node holds', async () => {
    const replicator = new ScriptedClusterReplicator(twoNodes);
    const api = await start(replicator, 60_000);
    const servedBy = servers.at(-1) as DashboardServer;
    await servedBy.symphony.change('board', (doc) => doc.getMap('m').set('k', 1));
    await servedBy.symphony.change('only-here', (doc) => doc.getMap('m').set('k', 1));
    const board = await api('/api/rooms/board');
    assert.equal(board.status, 200);
    assert.equal(board.body.room.loaded, true);
    assert.deepEqual(
      (board.body.holders as { nodeId: string }[]).map((holder) => holder.nodeId),
      ['node-a', 'node-b'],
    );
    assert.equal(board.body.writer, 'node-b');
    const alone = await api('/api/rooms/only-here');
    assert.deepEqual([alone.body.holders, alone.body.writer], [[], null]);
  });

  it('reads the registry once per max age, however many requests ask meanwhile', async () => {
    const replicator = new ScriptedClusterReplicator(twoNodes);
    const api = await start(replicator, 60_000);
    const answers = await Promise.all([...Array.from({ length: 8 }, () => api('/api/cluster')), api('/api/rooms/empty-elsewhere')]);
    assert.ok(answers.every((answer) => answer.status === 200));
    for (let i = 0; i < 5; i++) assert.equal((await api('/api/cluster')).status, 200);
    assert.equal(replicator.reads, 1);
  });

  it('reads again once the view is older than the max age', async () => {
    const replicator = new ScriptedClusterReplicator(twoNodes);
    const api = await start(replicator, 100);
    const first = await api('/api/cluster');
    replicator.view = { rooms: [], nodes: [] };
    await waitFor(async () => (await api('/api/cluster')).body.cluster.nodes.length === 0, 'the new view is served');
    const second = await api('/api/cluster');
    assert.ok(second.body.readAt > first.body.readAt);
    assert.ok(replicator.reads >= 2);
  });

  it('answers 503 when the registry cannot be read, keeps room details available, and recovers', async () => {
    const replicator = new ScriptedClusterReplicator(twoNodes);
    replicator.failure = new Error('registry unreachable');
    const api = await start(replicator, 60_000);
    const servedBy = servers.at(-1) as DashboardServer;
    const response = await api('/api/cluster');
    assert.equal(response.status, 503);
    assert.equal(response.body.nodeId, 'node-a');
    assert.match(response.body.error, /registry unreachable/);

    await servedBy.symphony.change('board', (doc) => doc.getMap('m').set('k', 1));
    const details = await api('/api/rooms/board');
    assert.equal(details.status, 200);
    assert.deepEqual(details.body.cluster, { available: false, error: 'registry unreachable' });
    assert.equal('holders' in details.body, false);

    // A failed read is not kept: the next request reads again.
    replicator.failure = null;
    const recovered = await api('/api/cluster');
    assert.equal(recovered.status, 200);
    assert.deepEqual(recovered.body.cluster, twoNodes);
  });
});
