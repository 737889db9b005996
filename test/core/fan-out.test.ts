import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { attachSymphony, ConfigurationError, MemoryStore, silentLogger } from '../../lib/index.js';
import { syncUpdateFrame } from '../../lib/core/protocol/frames.js';
import { messageSync, syncUpdate } from '../../lib/core/protocol/message-types.js';
import { ClientPool, rawClient, type RawClient } from '../support/clients.js';
import { rawAwarenessMessage, readAwarenessMessage, stepOneMessage, updateMessage } from '../support/messages.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** Raw clients that joined `room` and got the server's greeting. */
async function joinRaw(server: RunningSymphony, room: string, count: number): Promise<RawClient[]> {
  const joined: RawClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await rawClient(`${server.url}/${room}`);
    client.socket.send(stepOneMessage());
    await waitFor(() => client.received.length > 0, 'the server greeted the client');
    joined.push(client);
  }
  await waitFor(() => server.symphony.room(room)?.connections === count, 'every client joined');
  return joined;
}

const isDocUpdate = (message: Uint8Array) => message[0] === messageSync && message[1] === syncUpdate;

describe('fan-out coalescing', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();
  const raws: RawClient[] = [];

  afterEach(async () => {
    clients.destroyAll();
    for (const raw of raws.splice(0)) raw.socket.terminate();
    await server.close();
  });

  it('writes the one message of a quiet room at once, however long the tick', async () => {
    server = await startSymphony({ fanOut: { tickMs: 60_000, busyThresholdPerTick: 1 } });
    const [alice, bob] = await joinRaw(server, 'quiet', 2);
    raws.push(alice, bob);
    const before = bob.received.length;
    alice.socket.send(updateMessage((doc) => doc.getMap('shapes').set('a', 1)));
    await waitFor(() => bob.received.slice(before).some(isDocUpdate), 'bob received the update before the tick ended', 2_000);
    assert.equal(alice.received.filter(isDocUpdate).length, 0, 'the sender of a message written at once does not get it back');
  });

  it('gathers what a busy room sends within a tick into one merged update and each client\'s latest presence', async () => {
    server = await startSymphony({ fanOut: { tickMs: 300, busyThresholdPerTick: 1 } });
    const [alice, bob] = await joinRaw(server, 'busy', 2);
    raws.push(alice, bob);
    const before = bob.received.length;
    const source = new Y.Doc();
    const updates: Uint8Array[] = [];
    source.on('update', (update: Uint8Array) => updates.push(update));
    for (const key of ['a', 'b', 'c']) source.getMap('shapes').set(key, key);
    // One message written at once, then two updates and three presence states within the same tick.
    for (const update of updates) alice.socket.send(syncUpdateFrame(update));
    for (const clock of [1, 2, 3]) alice.socket.send(rawAwarenessMessage([{ clientId: 77, clock, state: JSON.stringify({ clock }) }]));
    await waitFor(() => {
      const presence = bob.received.slice(before).map(readAwarenessMessage);
      return presence.some((entries) => entries?.some((entry) => entry.clock === 3) === true);
    }, 'bob received the latest presence');
    const received = bob.received.slice(before);
    assert.equal(received.filter(isDocUpdate).length, 2, 'the first update at once, the next two merged into one');
    const replica = new Y.Doc();
    for (const message of received.filter(isDocUpdate)) Y.applyUpdate(replica, updateOf(message));
    assert.deepEqual(replica.getMap('shapes').toJSON(), { a: 'a', b: 'b', c: 'c' });
    const presenceEntries = received.map(readAwarenessMessage).filter((entries) => entries !== null).flat();
    assert.deepEqual(presenceEntries.map((entry) => entry.clock), [3], 'superseded states are not written');
    source.destroy();
    replica.destroy();
  });

  it('lets ten stock providers converge with every update and every client\'s final presence, echoes ignored', async () => {
    server = await startSymphony({ fanOut: { tickMs: 30, busyThresholdPerTick: 1 } });
    const room = clients.open(server.url, 'ten');
    const members = [room, ...Array.from({ length: 9 }, () => clients.open(server.url, 'ten'))];
    await Promise.all(members.map((member) => member.synced()));
    // Stock clients announce themselves on connect; only the states set below count.
    const echoedOwnState = members.map(() => 0);
    members.forEach((member, index) => {
      member.provider.awareness.on('change', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
        if (origin !== 'local' && [...added, ...updated, ...removed].includes(member.doc.clientID)) echoedOwnState[index]++;
      });
    });
    const EDITS = 20;
    for (let edit = 0; edit < EDITS; edit++) {
      members.forEach((member, index) => {
        member.doc.getArray('log').push([`${index}:${edit}`]);
        member.provider.awareness.setLocalState({ member: index, edit });
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const everyEdit = members.length * EDITS;
    await waitFor(() => members.every((member) => member.doc.getArray('log').length === everyEdit), 'every provider holds every edit', 10_000);
    await waitFor(
      () =>
        members.every((member) =>
          members.every((other) => (member.provider.awareness.getStates().get(other.doc.clientID) as { edit?: number } | undefined)?.edit === EDITS - 1),
        ),
      'every provider shows every member\'s final presence',
      10_000,
    );
    const logs = members.map((member) => JSON.stringify([...member.doc.getArray('log').toArray()].sort()));
    assert.ok(logs.every((log) => log === logs[0]), 'every document is the same');
    members.forEach((member, index) => assert.deepEqual(member.provider.awareness.getLocalState(), { member: index, edit: EDITS - 1 }));
    assert.deepEqual(echoedOwnState, members.map(() => 0), 'no provider applied an echo of its own presence');
  });

  it('gives a client that joins a busy room everything, sent before and during its sync', async () => {
    server = await startSymphony({ fanOut: { tickMs: 30, busyThresholdPerTick: 1 } });
    const writers = [clients.open(server.url, 'join'), clients.open(server.url, 'join')];
    await Promise.all(writers.map((writer) => writer.synced()));
    let joiner: ReturnType<typeof clients.open> | null = null;
    for (let edit = 0; edit < 60; edit++) {
      writers.forEach((writer, index) => writer.doc.getArray('log').push([`${index}:${edit}`]));
      if (edit === 30) joiner = clients.open(server.url, 'join');
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await waitFor(() => joiner?.doc.getArray('log').length === 120, 'the joiner holds every edit', 10_000);
  });

  it('writes every message at once when tickMs is 0', async () => {
    server = await startSymphony({ fanOut: { tickMs: 0 } });
    const [alice, bob] = await joinRaw(server, 'direct', 2);
    raws.push(alice, bob);
    const before = bob.received.length;
    for (const clock of [1, 2, 3]) alice.socket.send(rawAwarenessMessage([{ clientId: 78, clock, state: '{}' }]));
    const clocksOf78 = () =>
      bob.received
        .slice(before)
        .map(readAwarenessMessage)
        .filter((entries) => entries?.some((entry) => entry.clientId === 78))
        .map((entries) => entries!.map((entry) => entry.clock));
    await waitFor(() => clocksOf78().length === 3, 'bob received all three states');
    assert.deepEqual(clocksOf78(), [[1], [2], [3]], 'each state in its own message');
  });

  for (const [options, message] of [
    [{ tickMs: -1 }, '"fanOut.tickMs" must be a non-negative integer, got -1'],
    [{ tickMs: 2.5 }, '"fanOut.tickMs" must be a non-negative integer, got 2.5'],
    [{ busyThresholdPerTick: 0 }, '"fanOut.busyThresholdPerTick" must be a positive integer, got 0'],
  ] as const) {
    it(`throws a ConfigurationError for fanOut ${JSON.stringify(options)}`, async () => {
      server = await startSymphony();
      assert.throws(() => attachSymphony(createServer(), { store: new MemoryStore(), logger: silentLogger, fanOut: options }), { name: ConfigurationError.name, message });
    });
  }
});

/** The Yjs update inside a sync update message. */
function updateOf(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message);
  decoding.readVarUint(decoder);
  decoding.readVarUint(decoder);
  return decoding.readVarUint8Array(decoder);
}
