import assert from 'node:assert/strict';
import { RedisBus, type BusMessage, type RoomBusListener } from '../../lib/cluster/index.js';
import { LogPosition } from '../../lib/cluster/replication/log-position.js';
import { decodeMessage, encodeMessage, encodeUpdateMessage, MalformedMessageError } from '../../lib/cluster/replication/messages.js';
import { waitFor } from '../support/wait-for.js';
import { RedisProcess, uniquePrefix } from './support/infrastructure.js';

class Recorder implements RoomBusListener {
  readonly messages: { room: string; message: BusMessage }[] = [];
  message(room: string, message: BusMessage): void {
    this.messages.push({ room, message });
  }
  resubscribed(): void {}
  writable(): void {}
}

describe('cluster messages', () => {
  it('round-trip every kind, binary payloads intact', () => {
    const payload = Buffer.from([0, 255, 128, 10, 13]);
    const messages: Exclude<BusMessage, { kind: 'update' }>[] = [
      { kind: 'awareness', nodeId: 'node-ä', update: payload },
      { kind: 'stateVector', nodeId: 'n', seq: 2 ** 40, stateVector: payload },
      { kind: 'awarenessQuery', nodeId: 'n' },
      { kind: 'repair', nodeId: 'n', target: 'other', update: payload },
      { kind: 'leave', nodeId: 'n' },
    ];
    for (const message of messages) assert.deepEqual(decodeMessage(encodeMessage(message)), { ...message });
    assert.deepEqual(decodeMessage(encodeUpdateMessage('n', 7, payload)), { kind: 'update', nodeId: 'n', seq: 7, update: payload });
  });

  it('refuses bytes no node could have sent', () => {
    for (const bytes of [[], [1], [99, 1, 65], [1, 5, 65], [1, 1, 65, 0, 0]]) {
      assert.throws(() => decodeMessage(new Uint8Array(bytes)), MalformedMessageError, JSON.stringify(bytes));
    }
  });
});

describe('LogPosition', () => {
  it('advances through consecutive entries and flags the first gap', () => {
    const position = new LogPosition(0);
    assert.equal(position.observe(1), false);
    assert.equal(position.observe(2), false);
    assert.equal(position.observe(4), true, 'entry 3 is missing');
    assert.equal(position.applied, 2);
    assert.equal(position.observe(3), false, 'the gap closes');
    assert.equal(position.applied, 4);
  });

  it('never moves back, and notices a head beyond it', () => {
    const position = new LogPosition(10);
    position.observe(5);
    position.advanceTo(8);
    assert.equal(position.applied, 10);
    assert.equal(position.sawHead(12), true);
    position.advanceTo(12);
    assert.equal(position.behind, false);
  });
});

describe('RedisBus', function () {
  this.timeout(20_000);
  let redis: RedisProcess;
  const buses: RedisBus[] = [];

  const startBus = async (nodeId: string, listener: RoomBusListener = new Recorder(), keyPrefix = prefix) => {
    const bus = new RedisBus({ url: redis.url, keyPrefix });
    await bus.start(nodeId, listener);
    buses.push(bus);
    return bus;
  };
  let prefix: string;

  before(async () => {
    redis = await RedisProcess.start();
  });

  beforeEach(() => {
    prefix = uniquePrefix();
  });

  after(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await redis?.stop();
  });

  it('appends updates to a durable log with consecutive sequence numbers, and publishes each with its number', async () => {
    const received = new Recorder();
    const writer = await startBus('writer');
    const reader = await startBus('reader', received);
    await reader.subscribe('room');
    const update = new Uint8Array([0, 1, 255, 0, 128]);
    assert.equal(await writer.append('room', update), 1);
    assert.equal(await writer.append('room', update), 2);
    await waitFor(() => received.messages.length === 2, 'both updates published');
    assert.deepEqual(
      received.messages.map(({ message }) => message),
      [1, 2].map((seq) => ({ kind: 'update', nodeId: 'writer', seq, update: Buffer.from(update) })),
    );
    const tail = await reader.readLog('room', 1);
    assert.deepEqual(tail, { head: 2, trimmed: 0, entries: [{ seq: 2, nodeId: 'writer', update: Buffer.from(update) }] });
  });

  it('delivers only the rooms a node subscribed to, until it unsubscribes', async () => {
    const received = new Recorder();
    const writer = await startBus('writer');
    const reader = await startBus('reader', received);
    await reader.subscribe('held');
    await writer.append('not-held', new Uint8Array([1]));
    await writer.append('held', new Uint8Array([2]));
    await waitFor(() => received.messages.length === 1, 'the held room’s update');
    assert.equal(received.messages[0].room, 'held');
    await reader.unsubscribe('held');
    await writer.publish('held', { kind: 'leave', nodeId: 'writer' });
    await writer.append('held', new Uint8Array([3]));
    // A message published after both: once it arrives, the unsubscribed ones would have too.
    await reader.subscribe('probe');
    await writer.publish('probe', { kind: 'leave', nodeId: 'writer' });
    await waitFor(() => received.messages.length === 2, 'the probe');
    assert.equal(received.messages[1].room, 'probe');
  });

  it('trims the log up to a checkpoint, and lets only the node that claimed it trim', async () => {
    const first = await startBus('first');
    const second = await startBus('second');
    for (let index = 0; index < 5; index++) await first.append('room', new Uint8Array([index]));
    await first.claimTrim('room');
    assert.equal(await first.trim('room', 3), true);
    assert.deepEqual(
      (await first.readLog('room', 0)).entries.map((entry) => entry.seq),
      [4, 5],
    );
    assert.deepEqual(await second.claimTrim('room'), { head: 5, trimmed: 3 });
    assert.equal(await first.trim('room', 5), false, 'a former writer cannot trim what the new one has not stored');
    assert.equal(await second.trim('room', 5), true);
    assert.deepEqual(await second.readLog('room', 0), { head: 5, trimmed: 5, entries: [] });
  });

  it('reads the heads of many rooms in one round trip', async () => {
    const bus = await startBus('node');
    await bus.append('one', new Uint8Array([1]));
    await bus.append('two', new Uint8Array([1]));
    await bus.append('two', new Uint8Array([1]));
    assert.deepEqual(await bus.heads(['one', 'two', 'none']), new Map([['one', 1], ['two', 2], ['none', 0]]));
  });

  it('fails an append at once while Redis is down (the caller keeps the update), and works again after a restart', async () => {
    const bus = await startBus('node');
    await bus.append('room', new Uint8Array([1]));
    await redis.kill();
    try {
      await assert.rejects(bus.append('room', new Uint8Array([2])));
    } finally {
      await redis.restart();
    }
    await waitFor(async () => bus.append('room', new Uint8Array([3])).then(() => true, () => false), 'appends work again', 10_000);
    const { entries } = await bus.readLog('room', 0);
    assert.deepEqual(entries.map((entry) => entry.update[0]), [1, 3], 'the log survived the restart (append-only file)');
  });
});
