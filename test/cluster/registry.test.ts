import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbRegistry } from '../../lib/cluster/index.js';
import { waitFor } from '../support/wait-for.js';
import { AwsStandIns, TABLE } from './support/infrastructure.js';

describe('DynamoDbRegistry', function () {
  this.timeout(20_000);
  let aws: AwsStandIns;
  let client: DynamoDBClient;
  let registry: DynamoDbRegistry;
  let room: string;
  const a = { nodeId: 'node-a', url: 'http://10.0.0.1:3000' };
  const b = { nodeId: 'node-b', url: 'http://10.0.0.2:3000' };

  before(async () => {
    aws = await AwsStandIns.start();
    client = aws.dynamoClient();
    registry = new DynamoDbRegistry({ tableName: TABLE, client });
  });

  beforeEach(() => {
    room = `room-${randomBytes(4).toString('hex')}`;
  });

  after(async () => {
    client?.destroy();
    await aws?.stop();
  });

  it('lists the nodes that registered a room, with their URLs, until they deregister', async () => {
    await registry.register(a, [room]);
    await registry.register(b, [room, `${room}-other`]);
    const { holders } = await registry.lookup(room);
    assert.deepEqual(holders.map(({ nodeId, url }) => ({ nodeId, url })).sort((x, y) => x.nodeId.localeCompare(y.nodeId)), [a, b]);
    await registry.deregister(a.nodeId, room);
    assert.deepEqual((await registry.lookup(room)).holders.map((holder) => holder.nodeId), ['node-b']);
  });

  it('ignores entries whose heartbeat is stale (a crashed node), even where the table never expires items', async () => {
    const impatient = new DynamoDbRegistry({ tableName: TABLE, client, staleAfterMs: 200 });
    await impatient.register(a, [room]);
    assert.equal((await impatient.lookup(room)).holders.length, 1);
    await waitFor(async () => (await impatient.lookup(room)).holders.length === 0, 'the entry went stale', 2_000);
    await impatient.register(a, [room]);
    assert.equal((await impatient.lookup(room)).holders.length, 1, 'a heartbeat makes it live again');
  });

  it('gives the writer lease to one node at a time, renews it for its holder, and hands it over once it expires', async () => {
    const first = await registry.acquireLease('node-a', room, 300);
    assert.equal(first.holder, 'node-a');
    const contender = await registry.acquireLease('node-b', room, 300);
    assert.equal(contender.holder, 'node-a', 'node B sees node A holds it');
    const renewed = await registry.acquireLease('node-a', room, 300);
    assert.ok(renewed.holder === 'node-a' && renewed.leaseUntil >= first.leaseUntil);
    await waitFor(async () => (await registry.acquireLease('node-b', room, 300)).holder === 'node-b', 'node B takes the expired lease', 3_000);
    assert.equal((await registry.lookup(room)).lease?.holder, 'node-b');
  });

  it('releases the lease only for its holder', async () => {
    await registry.acquireLease('node-a', room, 10_000);
    await registry.releaseLease('node-b', room);
    assert.equal((await registry.lookup(room)).lease?.holder, 'node-a');
    await registry.releaseLease('node-a', room);
    assert.equal((await registry.lookup(room)).lease, null);
    assert.equal((await registry.acquireLease('node-b', room, 10_000)).holder, 'node-b');
  });

  it('takes over an unexpired lease only while it is exactly the stale lease seen', async () => {
    const stale = await registry.acquireLease('node-a', room, 10_000);
    assert.ok(stale.renewedAt > 0 && stale.leaseUntil === stale.renewedAt + 10_000);
    const renewed = await registry.acquireLease('node-a', room, 10_000);
    const refused = await registry.takeOverLease('node-b', room, 10_000, stale);
    assert.deepEqual(refused, renewed, 'node A renewed it meanwhile: it stays node A\'s');
    const taken = await registry.takeOverLease('node-b', room, 10_000, renewed);
    assert.equal(taken.holder, 'node-b');
    assert.equal((await registry.lookup(room)).lease?.holder, 'node-b');
    assert.equal((await registry.takeOverLease('node-c', room, 10_000, renewed)).holder, 'node-b', 'a second taker sees the first one');
  });

  it('verifies its table, and names a missing one with how to create it', async () => {
    await registry.verify();
    const missing = new DynamoDbRegistry({ tableName: 'no-such-table', client });
    await assert.rejects(missing.verify(), (error: Error) => {
      assert.equal(error.name, 'ConfigurationError');
      assert.match(error.message, /"no-such-table" \(SYMPHONY_DYNAMODB_TABLE\) does not exist.*npx symphony-setup --table no-such-table/);
      return true;
    });
  });

  it('describes the cluster: which node holds which room, and who writes it', async () => {
    await registry.register(a, [room]);
    await registry.register(b, [room]);
    await registry.acquireLease('node-b', room, 10_000);
    const view = await registry.describe();
    const entry = view.rooms.find((candidate) => candidate.room === room);
    assert.deepEqual(entry?.holders.map((holder) => holder.nodeId).sort(), ['node-a', 'node-b']);
    assert.equal(entry?.writer, 'node-b');
    assert.ok(view.nodes.some((node) => node.nodeId === 'node-a' && node.url === a.url && node.rooms >= 1));
  });
});
