import assert from 'node:assert/strict';
import * as Y from 'yjs';
import type { ClusterView } from '../../lib/index.js';
import { TestCluster, type ClusterNode } from '../cluster/support/cluster.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, TOKEN } from './support.js';

interface ClusterAnswer {
  readonly nodeId: string;
  readonly readAt: number;
  readonly cluster: ClusterView | null;
}

describe('the dashboard in cluster mode: two nodes, one Redis, S3 and DynamoDB', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    cluster = await TestCluster.start();
    [a, b] = await cluster.startNodes(2, { TEST_DASHBOARD_TOKEN: TOKEN });
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  const api = async <T>(node: ClusterNode, path: string): Promise<T> => {
    const response = await fetch(`${node.url}/admin${path}`, { headers: bearer() });
    assert.equal(response.status, 200, `${node.name} ${path}`);
    return (await response.json()) as T;
  };

  /** The shared room as `node`'s dashboard sees it, once both nodes hold it and one writes it. */
  const sharedRoomOn = async (node: ClusterNode, room: string) => {
    let answer: ClusterAnswer | null = null;
    await waitFor(
      async () => {
        answer = await api<ClusterAnswer>(node, '/api/cluster');
        const entry = answer.cluster?.rooms.find((candidate) => candidate.room === room);
        return entry?.holders.length === 2 && entry.writer !== null;
      },
      `${node.name}'s dashboard shows both nodes holding ${room} and a writer`,
      15_000,
    );
    return answer as unknown as ClusterAnswer;
  };

  it("reports on one node's dashboard both nodes holding a shared room, and names its writer", async () => {
    const clients = [cluster.connect(a, 'shared-board'), cluster.connect(b, 'shared-board')];
    await Promise.all(clients.map((client) => client.synced()));
    clients[0].doc.getText('text').insert(0, 'drawn on node 1');

    const answer = await sharedRoomOn(a, 'shared-board');
    assert.equal(answer.nodeId, 'node-1');
    const view = answer.cluster as ClusterView;
    const room = view.rooms.find((entry) => entry.room === 'shared-board')!;
    assert.deepEqual(room.holders.map((holder) => [holder.nodeId, holder.url]).sort(), [
      ['node-1', a.url],
      ['node-2', b.url],
    ]);
    const { lease } = await cluster.lookup('shared-board');
    assert.equal(room.writer, lease?.holder, 'the writer is the holder of the registry lease');
    assert.ok(['node-1', 'node-2'].includes(room.writer!));

    // Every node, with its internal URL, its room count and a fresh heartbeat.
    assert.deepEqual(
      view.nodes.map((node) => [node.nodeId, node.url]),
      [
        ['node-1', a.url],
        ['node-2', b.url],
      ],
    );
    for (const node of view.nodes) {
      assert.ok(node.rooms >= 1, `${node.nodeId} holds a room`);
      assert.ok(answer.readAt - node.heartbeatAt < 5_000, `${node.nodeId}'s heartbeat is recent`);
    }

    // The room's details name the same holders and writer.
    const details = await api<{ room: { name: string; loaded: boolean }; holders: { nodeId: string }[]; writer: string | null; cluster: { available: boolean } }>(
      a,
      '/api/rooms/shared-board',
    );
    assert.equal(details.room.loaded, true);
    assert.deepEqual(details.holders.map((holder) => holder.nodeId).sort(), ['node-1', 'node-2']);
    assert.equal(details.writer, room.writer);
    assert.equal(details.cluster.available, true);

    // The other node's dashboard tells the same story.
    const fromB = await sharedRoomOn(b, 'shared-board');
    assert.equal(fromB.nodeId, 'node-2');
    assert.equal(fromB.cluster?.rooms.find((entry) => entry.room === 'shared-board')?.writer, room.writer);
  });

  it('applies an update posted to one node\'s API and relays it to a client of the other node', async () => {
    const client = cluster.connect(a, 'posted-board');
    await client.synced();
    const source = new Y.Doc();
    source.getText('text').insert(0, 'posted to node 2');
    const response = await fetch(`${b.url}/admin/api/rooms/posted-board/update`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/octet-stream' },
      body: Buffer.from(Y.encodeStateAsUpdate(source)),
    });
    source.destroy();
    assert.equal(response.status, 204);
    await waitFor(() => client.doc.getText('text').toString() === 'posted to node 2', 'the client on node 1 received the update', 10_000);
    const read = await fetch(`${a.url}/admin/api/rooms/posted-board/update`, { headers: bearer() });
    const copy = new Y.Doc();
    Y.applyUpdate(copy, new Uint8Array(await read.arrayBuffer()));
    assert.equal(copy.getText('text').toString(), 'posted to node 2');
    copy.destroy();
  });

  it('refuses the cluster view without the admin token', async () => {
    const response = await fetch(`${a.url}/admin/api/cluster`);
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { error: 'unauthorized', code: 'unauthorized' });
  });
});
