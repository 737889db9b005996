import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../support/wait-for.js';
import { converged, TestCluster, textOf, type ClusterNode } from './support/cluster.js';

describe('cluster mode under faults: Redis restarts, S3 outages, hanging peers', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let c: ClusterNode;

  before(async () => {
    // Checkpoints every 2 s, so failed ones are retried at least that often.
    cluster = await TestCluster.start({ TEST_CHECKPOINT_INTERVAL_MS: '2000' });
    [a, b, c] = await cluster.startNodes(3);
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  const unloadedEverywhere = (room: string) => async () => {
    for (const node of [a, b, c]) if (await node.holds(room)) return false;
    return true;
  };

  it('recovers from a Redis restart mid-session: edits made meanwhile converge, and no room unloads before they are in the log', async () => {
    const [onA, onB] = [cluster.connect(a, 'redis-restart'), cluster.connect(b, 'redis-restart')];
    await Promise.all([onA.synced(), onB.synced()]);
    onA.doc.getText('text').insert(0, 'before;');
    await converged([onA, onB], 'converged before the outage');

    await cluster.redisServer.kill();
    onA.doc.getText('text').insert(0, 'A during;');
    onB.doc.getText('text').insert(0, 'B during;');
    // B's only client leaves while B cannot append its edit: B must keep the room, unsaved.
    const bText = textOf(onB);
    onB.destroy();
    await waitFor(async () => (await b.checkpointFailures('redis-restart')) >= 1, 'B tried to checkpoint and could not');
    assert.equal((await b.room('redis-restart'))?.unsaved, true, 'B still holds the room with its unsaved edit');

    await cluster.redisServer.restart();
    await waitFor(async () => ((await cluster.redis.pubsub('NUMSUB', cluster.channel('redis-restart'))) as [string, number])[1] === 2, 'A and B subscribed again', 20_000);
    await waitFor(() => textOf(onA).includes('B during;'), "B's edit made during the outage reaches A's client", 15_000);
    assert.ok(textOf(onA).includes('A during;') && bText.includes('B during;'));
    await waitFor(async () => !(await b.holds('redis-restart')), 'B unloads once its edit is in the log (its checkpoint retries back off while Redis is down)', 40_000);

    const text = textOf(onA);
    cluster.clients.destroyAll();
    await waitFor(unloadedEverywhere('redis-restart'), 'every node unloaded the room', 15_000);
    assert.equal(await cluster.storedText('redis-restart'), text);
    assert.deepEqual((await cluster.lookup('redis-restart')).holders, []);
    const reader = cluster.connect(c, 'redis-restart');
    await reader.synced();
    assert.equal(textOf(reader), text);
  });

  it('rides out an S3 outage: peers still hand rooms over, and the writer keeps the room until S3 takes the checkpoint', async () => {
    const [onA, onB] = [cluster.connect(a, 's3-outage'), cluster.connect(b, 's3-outage')];
    await Promise.all([onA.synced(), onB.synced()]);
    onA.doc.getText('text').insert(0, 'before;');
    await converged([onA, onB], 'converged before the outage');

    await cluster.aws.stopS3();
    try {
      onB.doc.getText('text').insert(0, 'during;');
      // A node joining now cannot read S3, but a peer hands the room over.
      const onC = cluster.connect(c, 's3-outage');
      await onC.synced();
      const text = await converged([onA, onB, onC], 'the newcomer has everything');
      assert.deepEqual(await c.loads('s3-outage'), ['peer']);

      const writer = (await cluster.lookup('s3-outage')).lease!.holder;
      const writerNode = [a, b, c].find((node) => node.name === writer)!;
      cluster.clients.destroyAll();
      await waitFor(async () => (await writerNode.checkpointFailures('s3-outage')) >= 2, 'the writer failed to checkpoint, twice', 15_000);
      assert.equal((await writerNode.room('s3-outage'))?.unsaved, true, 'the writer keeps the room, unsaved');
      assert.equal(await cluster.logLength('s3-outage') > 0, true, 'the log keeps every edit meanwhile');

      await cluster.aws.startS3();
      await waitFor(unloadedEverywhere('s3-outage'), 'every node unloaded the room once S3 was back', 15_000);
      assert.equal(await cluster.storedText('s3-outage'), text);
      assert.equal(await cluster.logLength('s3-outage'), 0);
      assert.deepEqual(await cluster.lookup('s3-outage'), { holders: [], lease: null });
    } finally {
      await cluster.aws.startS3().catch(() => undefined);
    }
  });

  describe('a registered peer that never answers the state request', () => {
    let hanging: Server;
    let hangingUrl: string;

    before(async () => {
      hanging = createServer(() => {
        // Accepts the request and never answers, like a node stuck in a long GC pause.
      });
      await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
      hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    });

    after(async () => {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    });

    it('is given up after the hand-off timeout, and the room loads from S3 plus the log', async () => {
      const first = cluster.connect(a, 'hanging-peer');
      await first.synced();
      first.doc.getText('text').insert(0, 'saved before');
      cluster.clients.destroyAll();
      await waitFor(unloadedEverywhere('hanging-peer'), 'the room was saved and unloaded');

      await cluster.registry.register({ nodeId: 'hung-node', url: hangingUrl }, ['hanging-peer']);
      assert.equal((await cluster.lookup('hanging-peer')).holders.length, 1, 'the hanging peer is a live holder');
      const started = Date.now();
      const client = cluster.connect(b, 'hanging-peer');
      await client.synced();
      const elapsed = Date.now() - started;
      assert.equal(textOf(client), 'saved before');
      assert.deepEqual(await b.loads('hanging-peer'), ['store']);
      assert.ok(elapsed >= 1_000 && elapsed < 5_000, `loaded after the 1 s hand-off timeout (took ${elapsed} ms)`);
    });
  });
});
