import assert from 'node:assert/strict';
import { startBalancer, type Balancer } from '../../examples/cluster/balancer.js';
import { waitFor } from '../support/wait-for.js';
import { converged, TestCluster, textOf, type ClusterNode } from './support/cluster.js';

/** Someone else's presence, as a stock client sees it. */
const seesPresenceOf = (client: { provider: { awareness: { getStates(): Map<number, Record<string, unknown>> } } }, name: string) =>
  [...client.provider.awareness.getStates().values()].some((state) => (state.user as { name?: string } | undefined)?.name === name);

describe('cluster mode: three nodes, one Redis, S3 and DynamoDB', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let c: ClusterNode;

  before(async () => {
    cluster = await TestCluster.start();
    [a, b, c] = await cluster.startNodes(3);
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  it('converges clients of one room connected to three different nodes, and relays their presence', async () => {
    const clients = [cluster.connect(a, 'converge'), cluster.connect(b, 'converge'), cluster.connect(c, 'converge')];
    await Promise.all(clients.map((client) => client.synced()));
    clients.forEach((client, index) => client.provider.awareness.setLocalStateField('user', { name: `user-${index}` }));
    for (let round = 0; round < 10; round++) {
      clients.forEach((client, index) => client.doc.getText('text').insert(0, String(index)));
    }
    const text = await converged(clients, 'the three clients show the same text');
    assert.equal(text.length, 30);
    await waitFor(
      () => clients.every((client, index) => clients.every((_other, otherIndex) => otherIndex === index || seesPresenceOf(client, `user-${otherIndex}`))),
      'every client sees the presence of the two others',
    );
  });

  it('registers every node that holds a room, with its internal URL, and elects one writer', async () => {
    const clients = [cluster.connect(a, 'registry'), cluster.connect(b, 'registry')];
    await Promise.all(clients.map((client) => client.synced()));
    await waitFor(async () => (await cluster.lookup('registry')).holders.length === 2, 'both nodes registered');
    const entry = await cluster.lookup('registry');
    assert.deepEqual(entry.holders.map((holder) => holder.url).sort(), [a.url, b.url].sort());
    await waitFor(async () => (await cluster.lookup('registry')).lease !== null, 'a writer lease was taken');
    assert.ok(['node-1', 'node-2'].includes((await cluster.lookup('registry')).lease!.holder), 'the writer is one of the holders');
  });

  it('hands a room to a late joiner on a fresh node from a peer that holds it', async () => {
    const first = cluster.connect(a, 'late-joiner');
    await first.synced();
    first.doc.getText('text').insert(0, 'written before the late joiner came');
    await waitFor(async () => (await cluster.lookup('late-joiner')).holders.length === 1, 'node A registered the room');
    const late = cluster.connect(c, 'late-joiner');
    await late.synced();
    assert.equal(textOf(late), 'written before the late joiner came');
    assert.deepEqual(await c.loads('late-joiner'), ['peer']);
  });

  it('serves the internal state route only with the cluster secret, and 404 for a room it does not hold', async () => {
    const client = cluster.connect(a, 'state-route');
    await client.synced();
    const route = `${a.url}/_symphony/rooms/state-route/state`;
    assert.equal((await fetch(route)).status, 401);
    assert.equal((await fetch(route, { headers: { authorization: 'Bearer wrong-secret-wrong-secret' } })).status, 401);
    const answer = await fetch(route, { headers: { authorization: `Bearer ${cluster.secret}` } });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'application/octet-stream');
    assert.ok(Number(answer.headers.get('x-symphony-log-position')) >= 0);
    const other = await fetch(`${a.url}/_symphony/rooms/not-held-here/state`, { headers: { authorization: `Bearer ${cluster.secret}` } });
    assert.equal(other.status, 404);
  });

  it('reconverges within seconds when nodes lose half of the pub/sub messages', async () => {
    const clients = [cluster.connect(a, 'lossy'), cluster.connect(b, 'lossy'), cluster.connect(c, 'lossy')];
    await Promise.all(clients.map((client) => client.synced()));
    await Promise.all([a, b, c].map((node) => node.dropIncoming(0.5)));
    try {
      for (let round = 0; round < 20; round++) {
        clients.forEach((client, index) => client.doc.getText('text').insert(0, `${index}`));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const started = Date.now();
      const text = await converged(clients, 'all clients converge despite the lost messages', 5_000);
      assert.equal(text.length, 60);
      // Sync interval 500 ms in these tests: a lost message is noticed at the next check at the latest.
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await Promise.all([a, b, c].map((node) => node.dropIncoming(0)));
    }
  });

  it('reconverges when one node receives nothing at all from the channel', async () => {
    const clients = [cluster.connect(a, 'deaf-node'), cluster.connect(c, 'deaf-node')];
    await Promise.all(clients.map((client) => client.synced()));
    const droppedBefore = await c.droppedMessages();
    await c.dropIncoming(1);
    try {
      clients[0].doc.getText('text').insert(0, 'only the log tells node C');
      await converged(clients, 'node C reads what it missed from the log', 5_000);
      assert.ok((await c.droppedMessages()) > droppedBefore, 'node C received the update on the channel after all');
    } finally {
      await c.dropIncoming(0);
    }
  });

  it('when every node leaves a room: the registry is empty, S3 holds the state, the log is trimmed, and a new node loads it', async () => {
    const clients = [cluster.connect(a, 'everyone-leaves'), cluster.connect(b, 'everyone-leaves'), cluster.connect(c, 'everyone-leaves')];
    await Promise.all(clients.map((client) => client.synced()));
    clients.forEach((client, index) => client.doc.getText('text').insert(0, `[${index}]`));
    const text = await converged(clients, 'converged before leaving');
    cluster.clients.destroyAll();
    await waitFor(async () => !(await a.holds('everyone-leaves')) && !(await b.holds('everyone-leaves')) && !(await c.holds('everyone-leaves')), 'every node unloaded the room');
    // A node stops holding a room first and deregisters right after (so no client joins a leaving room).
    await waitFor(async () => {
      const { holders, lease } = await cluster.registry.lookup('everyone-leaves');
      return holders.length === 0 && lease === null;
    }, 'every node deregistered and the lease is released');
    const entry = await cluster.registry.lookup('everyone-leaves');
    assert.deepEqual(entry, { holders: [], lease: null });
    assert.equal(await cluster.storedText('everyone-leaves'), text);
    assert.equal(await cluster.logLength('everyone-leaves'), 0, 'the last checkpoint covers the whole log');
    const fresh = await cluster.startNode();
    const reader = cluster.connect(fresh, 'everyone-leaves');
    await reader.synced();
    assert.equal(textOf(reader), text);
    assert.deepEqual(await fresh.loads('everyone-leaves'), ['store']);
  });

  it('loses no edit when a node is killed with -9 right after relaying edits no checkpoint covers', async () => {
    // A checkpoint (the last client leaving) puts the first part in S3...
    const early = cluster.connect(b, 'crash');
    await early.synced();
    early.doc.getText('text').insert(0, 'checkpointed;');
    cluster.clients.destroyAll();
    await waitFor(async () => (await cluster.storedText('crash')) === 'checkpointed;', 'the first part is in S3');
    await waitFor(async () => !(await b.holds('crash')), 'node B unloaded the room');
    // ...then the victim relays more edits between its own clients and dies before any checkpoint.
    const victim = await cluster.startNode();
    const writer = cluster.connect(victim, 'crash');
    const watcher = cluster.connect(victim, 'crash');
    await Promise.all([writer.synced(), watcher.synced()]);
    for (let index = 0; index < 20; index++) writer.doc.getText('text').insert(writer.doc.getText('text').length, ` edit ${index};`);
    const expected = textOf(writer);
    await waitFor(() => textOf(watcher) === expected, 'the victim relayed every edit to its other client');
    await victim.kill();
    // The clients that made the edits are gone too: only the cluster can have kept them.
    cluster.clients.destroyAll();
    assert.equal(await cluster.storedText('crash'), 'checkpointed;', 'no checkpoint covers the edits');
    assert.ok((await cluster.logLength('crash')) >= 20, 'the edits are in the Redis log');
    assert.equal(await cluster.readText('crash'), expected, 'reading the room without loading it merges S3 and the log');
    const fresh = cluster.connect(c, 'crash');
    await fresh.synced();
    assert.equal(textOf(fresh), expected);
    assert.deepEqual(await c.loads('crash'), ['store'], 'loaded from S3 plus the log, the dead node being skipped');
  });

  it('hands the writer lease to a surviving holder when the writer dies, which then checkpoints everything', async () => {
    const [first, second] = await cluster.startNodes(2);
    const clients = [cluster.connect(first, 'takeover'), cluster.connect(second, 'takeover')];
    await Promise.all(clients.map((client) => client.synced()));
    await waitFor(async () => (await cluster.lookup('takeover')).lease !== null, 'a writer was elected');
    const writer = (await cluster.lookup('takeover')).lease!.holder === first.name ? first : second;
    const survivor = writer === first ? second : first;
    const onSurvivor = clients[writer === first ? 1 : 0];
    onSurvivor.doc.getText('text').insert(0, 'before the crash;');
    await converged(clients, 'both clients have the first edit');
    await writer.kill();
    onSurvivor.doc.getText('text').insert(onSurvivor.doc.getText('text').length, 'after the crash;');
    await waitFor(async () => (await cluster.lookup('takeover')).lease?.holder === survivor.name, 'the survivor took the lease over', 5_000);
    cluster.clients.destroyAll();
    await waitFor(async () => !(await survivor.holds('takeover')), 'the survivor checkpointed and unloaded the room');
    assert.equal(await cluster.storedText('takeover'), 'before the crash;after the crash;');
    assert.equal(await cluster.logLength('takeover'), 0);
  });

  describe('graceful scale-in behind a load balancer', () => {
    let balancer: Balancer;

    before(async () => {
      balancer = await startBalancer({ backends: [a.url, b.url, c.url], port: 0, healthIntervalMs: 200 });
    });

    after(async () => {
      await balancer?.close();
    });

    it('on SIGTERM a node deregisters, closes its sockets with 1012, and its clients continue on other nodes within seconds', async () => {
      const url = `ws://127.0.0.1:${balancer.port}/collab`;
      const clients = [cluster.connect(url, 'scale-in'), cluster.connect(url, 'scale-in'), cluster.connect(url, 'scale-in')];
      await Promise.all(clients.map((client) => client.synced()));
      clients.forEach((client, index) => client.doc.getText('text').insert(0, `<${index}>`));
      await converged(clients, 'converged before the scale-in');
      const holders = await Promise.all([a, b, c].map((node) => node.holds('scale-in')));
      const leaving = [a, b, c][holders.indexOf(true)];
      const closes: number[] = [];
      for (const client of clients) client.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code));
      const started = Date.now();
      assert.equal(await leaving.stop(), 0);
      await waitFor(() => clients.every((client) => client.provider.wsconnected && client.provider.synced), 'every client reconnected and synced', 10_000);
      const reconnectedMs = Date.now() - started;
      assert.ok(closes.includes(1012), 'the leaving node closed its sockets with 1012');
      assert.ok(!(await cluster.lookup('scale-in')).holders.some((holder) => holder.url === leaving.url), 'the leaving node deregistered');
      clients[0].doc.getText('text').insert(0, 'after;');
      const text = await converged(clients, 'clients keep collaborating on the remaining nodes');
      assert.ok(text.startsWith('after;') && text.length === 'after;'.length + 9);
      assert.ok(reconnectedMs < 5_000, `clients were back within ${reconnectedMs} ms`);
    });
  });
});
