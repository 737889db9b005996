import assert from 'node:assert/strict';
import { S3VersionStore } from '../../lib/cluster/index.js';
import { CloseCode, type VersionInfo } from '../../lib/index.js';
import type { StockClient } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { BUCKET } from './support/infrastructure.js';
import { converged, TestCluster, type ClusterNode } from './support/cluster.js';

async function getJSON<T>(node: ClusterNode, path: string): Promise<T> {
  return (await (await fetch(`${node.url}${path}`)).json()) as T;
}

/** The close codes a stock client saw; it stops on 4410, as an app honouring the code does. */
function closeCodes(client: StockClient): number[] {
  const codes: number[] = [];
  client.provider.on('connection-close', (event) => {
    if (!event) return;
    codes.push(event.code);
    if (event.code === CloseCode.roomDeleted) client.provider.disconnect();
  });
  return codes;
}

describe('cluster mode: version history and room deletion', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let versions: S3VersionStore;

  before(async () => {
    cluster = await TestCluster.start({ TEST_CHECKPOINT_INTERVAL_MS: '200' });
    [a, b] = await cluster.startNodes(2);
    versions = new S3VersionStore({ client: cluster.store.client, bucket: BUCKET });
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  it('writes automatic versions to S3 from the room’s writer only', async () => {
    const clients = [cluster.connect(a, 'versioned'), cluster.connect(b, 'versioned')];
    await Promise.all(clients.map((client) => client.synced()));
    clients[0].doc.getText('text').insert(0, 'from a ');
    clients[1].doc.getText('text').insert(0, 'from b ');
    await converged(clients, 'both clients have both edits');
    await waitFor(async () => (await versions.list('versioned')).length > 0, 'an automatic version in S3', 10_000);
    const writers = await Promise.all([a, b].map(async (node) => (await getJSON<{ writer: boolean }>(node, '/test/writer?room=versioned')).writer));
    assert.deepEqual(writers.filter(Boolean).length, 1, 'one writer');
    const created = await Promise.all([a, b].map((node) => getJSON<{ room: string }[]>(node, '/test/versions-created')));
    const [writerCreated, otherCreated] = writers[0] ? created : [created[1], created[0]];
    assert.ok(writerCreated.some((version) => version.room === 'versioned'));
    assert.deepEqual(otherCreated.filter((version) => version.room === 'versioned'), [], 'the other node wrote none');
    // Either node lists them (both read the same bucket).
    const listed = await getJSON<VersionInfo[]>(writers[0] ? b : a, '/test/versions?room=versioned');
    assert.deepEqual(listed.map((version) => version.id), (await versions.list('versioned')).map((version) => version.id));
  });

  it('deletes a room on every node: clients closed with 4410, nothing left in S3 or Redis, empty afterwards', async () => {
    const clients = [cluster.connect(a, 'doomed'), cluster.connect(b, 'doomed')];
    const codes = clients.map(closeCodes);
    await Promise.all(clients.map((client) => client.synced()));
    clients[0].doc.getText('text').insert(0, 'secret');
    await converged(clients, 'both clients have the edit');
    await waitFor(async () => (await versions.list('doomed')).length > 0 && (await cluster.storedState('doomed')) !== null, 'a checkpoint and a version', 10_000);

    const answer = await (await fetch(`${a.url}/test/delete?room=doomed`, { method: 'POST' })).json();
    assert.deepEqual(answer, { existed: true });
    await waitFor(() => codes.every((seen) => seen.includes(CloseCode.roomDeleted)), 'clients on both nodes are closed with 4410');
    assert.equal(await cluster.storedState('doomed'), null, 'no document in S3');
    assert.deepEqual(await versions.list('doomed'), [], 'no versions in S3');
    assert.equal(await cluster.logLength('doomed'), 0, 'no log in Redis');
    assert.equal(await cluster.redis.exists(`${cluster.prefix}{doomed}:meta`), 0, 'no log bounds in Redis');
    await waitFor(async () => !(await a.holds('doomed')) && !(await b.holds('doomed')), 'neither node holds the room');
    assert.deepEqual((await cluster.lookup('doomed')).holders, []);

    const newcomer = cluster.connect(b, 'doomed');
    await newcomer.synced();
    assert.equal(newcomer.doc.getText('text').toString(), '');
  });
});
