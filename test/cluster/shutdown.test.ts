import assert from 'node:assert/strict';
import { freePort } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';
import { converged, TestCluster } from './support/cluster.js';

describe('cluster shutdown: the last node to stop leaves every room in S3', function () {
  this.timeout(90_000);
  let cluster: TestCluster;

  before(async () => {
    // Writer leases last 10 s, while a dead node's registry entry goes stale after 1.5 s (three
    // missed 500 ms heartbeats): a node stopped right after the writer crashed finds its lease unexpired.
    cluster = await TestCluster.start({ TEST_LEASE_DURATION_MS: '10000' });
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  it('takes over the lease of a writer killed with -9 when the other holders stop with SIGTERM, and stores every edit', async () => {
    const room = 'writer-killed';
    const [a, b, c] = await cluster.startNodes(3);
    const onA = cluster.connect(a, room);
    await onA.synced();
    await waitFor(async () => (await cluster.lookup(room)).lease?.holder === a.name, 'node A, the first to load the room, writes it');
    const clients = [onA, cluster.connect(b, room), cluster.connect(c, room)];
    await Promise.all(clients.map((client) => client.synced()));
    clients.forEach((client, index) => client.doc.getText('text').insert(0, `[edit on ${['A', 'B', 'C'][index]}]`));
    const text = await converged(clients, 'every client has the three edits');
    await waitFor(async () => (await cluster.lookup(room)).holders.length === 3, 'the three nodes registered the room');
    assert.equal(await cluster.storedState(room), null, 'no checkpoint was written yet: the edits are only in the Redis log');

    await a.kill();
    const leaseOfTheDead = (await cluster.lookup(room)).lease!;
    assert.ok(leaseOfTheDead.holder === a.name && leaseOfTheDead.leaseUntil > Date.now() + 5_000, 'the dead writer still holds an unexpired lease');
    assert.deepEqual(await Promise.all([b.stop(), c.stop()]), [0, 0], 'B and C stop cleanly');

    assert.equal(await cluster.storedText(room), text, 'S3 holds every edit');
    assert.equal(await cluster.logLength(room), 0, 'the final checkpoint covers the whole log');
  });

  it('waits, within the stop timeout, for the lease of a listed writer that does not answer to expire, then stores the room', async () => {
    const room = 'silent-writer';
    // A registered node that holds the lease but answers nothing: its address refuses connections.
    const silent = { nodeId: 'silent-node', url: `http://127.0.0.1:${await freePort()}` };
    await cluster.registry.register(silent, [room]);
    const keepListed = setInterval(() => void cluster.registry.register(silent, [room]).catch(() => undefined), 300);
    try {
      const lease = await cluster.registry.acquireLease(silent.nodeId, room, 4_000);
      const node = await cluster.startNode();
      const client = cluster.connect(node, room);
      await client.synced();
      client.doc.getText('text').insert(0, 'written while the silent node held the lease');
      await waitFor(async () => (await cluster.logLength(room)) === 1, 'the edit is in the log');
      assert.equal(await node.stop(), 0);
      assert.ok(Date.now() >= lease.leaseUntil, 'the node stopped only after the lease expired');
      assert.equal(await cluster.storedText(room), 'written while the silent node held the lease');
    } finally {
      clearInterval(keepListed);
    }
  });
});
