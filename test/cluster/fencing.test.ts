import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.js';
import { converged, TestCluster, textOf } from './support/cluster.js';
import { ConditionalS3, TcpRelay } from './support/fault-proxies.js';

const IGNORED_CONDITIONS = 'does not enforce conditional writes';
const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('cluster writer fencing with S3 conditional writes', function () {
  this.timeout(90_000);
  let cluster: TestCluster;
  let s3: ConditionalS3;
  let dynamo: TcpRelay;

  before(async () => {
    // Checkpoints 1 s after a change, so that writers write often.
    cluster = await TestCluster.start({ TEST_CHECKPOINT_INTERVAL_MS: '1000' });
    s3 = new ConditionalS3(cluster.aws.s3Port, cluster.aws.s3Client());
    dynamo = await TcpRelay.start(cluster.aws.dynamoPort);
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
    await s3?.close();
    await dynamo?.close();
  });

  it('refuses the checkpoint of a writer cut off from DynamoDB that lost its lease, which steps down; no edit is lost', async () => {
    const room = 'fenced';
    const [staleEntrance, newEntrance] = [await s3.entrance(), await s3.entrance()];
    // The future stale writer reaches DynamoDB through a relay that will hang, and S3 through an
    // entrance that can hold its writes back (a slow request, a paused process).
    const stale = await cluster.startNode({ AWS_ENDPOINT_URL_S3: staleEntrance.url, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, TEST_S3_REQUEST_TIMEOUT_MS: '60000' });
    const fresh = await cluster.startNode({ AWS_ENDPOINT_URL_S3: newEntrance.url });
    const onStale = cluster.connect(stale, room);
    await onStale.synced();
    await waitFor(async () => (await cluster.lookup(room)).lease?.holder === stale.name, 'the first node to load the room writes it');
    const onFresh = cluster.connect(fresh, room);
    await onFresh.synced();
    const append = (client: typeof onStale, text: string) => client.doc.getText('text').insert(client.doc.getText('text').length, text);

    append(onStale, 'first;');
    await waitFor(async () => (await cluster.storedText(room)) === 'first;', 'the writer stored its first checkpoint');
    staleEntrance.holdWrites();
    append(onStale, 'second;');
    await waitFor(() => staleEntrance.heldWrites === 1, "the writer's next checkpoint is on its way to S3, held back", 10_000);
    append(onFresh, 'third;');
    const expected = await converged([onStale, onFresh], 'both clients have every edit');
    assert.equal(expected, 'first;second;third;');

    dynamo.hang();
    await waitFor(async () => (await cluster.lookup(room)).lease?.holder === fresh.name, 'the other node took the expired lease over', 10_000);
    await waitFor(async () => (await cluster.storedText(room)) === expected, 'the new writer stored every edit', 10_000);
    await waitFor(async () => (await cluster.logLength(room)) === 0, 'and trimmed the log its checkpoint covers', 10_000);

    // The stale writer's checkpoint lacks "third;", which only the new checkpoint holds now.
    staleEntrance.releaseWrites();
    await waitFor(() => /the store refused this node's checkpoint/.test(stale.log()), 'the stale writer was refused and steps down', 10_000);
    assert.ok(s3.refused >= 1);
    assert.equal(await cluster.storedText(room), expected, 'the newer checkpoint was not overwritten');
    assert.equal(await cluster.readText(room), expected, 'S3 plus the log still hold every edit');

    dynamo.restore();
    append(onStale, 'fourth;');
    const final = await converged([onStale, onFresh], 'the stale node keeps relaying edits');
    assert.equal(final, 'first;second;third;fourth;');
    await waitFor(async () => (await cluster.storedText(room)) === final, 'the writer stores the later edit', 10_000);
    assert.equal((await cluster.lookup(room)).lease?.holder, fresh.name, 'the stale node did not take the lease back');
    cluster.clients.destroyAll();
    await waitFor(async () => !(await stale.holds(room)) && !(await fresh.holds(room)), 'both nodes unloaded the room', 15_000);
    assert.equal(await cluster.storedText(room), final);
    for (const node of [stale, fresh]) assert.equal(occurrences(node.log(), IGNORED_CONDITIONS), 0, `${node.name} found S3 enforcing conditional writes`);
  });

  it('detects a store that ignores conditional writes, says so once, and keeps checkpointing', async () => {
    const room = 'unfenced';
    // s3rver itself, without the enforcing proxy.
    const node = await cluster.startNode();
    assert.equal(occurrences(node.log(), IGNORED_CONDITIONS), 1, 'logged once at start');
    const client = cluster.connect(node, room);
    await client.synced();
    for (const text of ['one;', 'two;']) {
      client.doc.getText('text').insert(0, text);
      const expected = textOf(client);
      await waitFor(async () => (await cluster.storedText(room)) === expected, `checkpoint with ${text}`);
    }
    assert.equal(occurrences(node.log(), IGNORED_CONDITIONS), 1, 'and only once');
  });
});
