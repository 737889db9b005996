import assert from 'node:assert/strict';
import { AuthenticationError, CloseCode } from '../../lib/index.js';
import { MAX_PRESENCE_CLOCK, Presence, PRESENCE_TOMBSTONE_MS } from '../../lib/core/room/presence.js';
import { ClientPool, rawClient, type RawClient, type StockClient } from '../support/clients.js';
import { awarenessFrame } from '../../lib/core/protocol/frames.js';
import { rawAwarenessMessage, rawAwarenessUpdate, readAwarenessMessage, stepOneMessage, type RawAwarenessEntry } from '../support/messages.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

const ATTACKER_ID = 4_000_000_001;

/** The presence state `client` holds for `clientId`, as its app would read it. */
function stateSeenBy(client: StockClient, clientId: number): unknown {
  return client.provider.awareness.getStates().get(clientId);
}

/** Every awareness entry a raw client received so far. */
function awarenessReceived(client: RawClient): RawAwarenessEntry[] {
  return client.received.flatMap((message) => readAwarenessMessage(message) ?? []);
}

describe('presence from hostile clients', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();
  let room = 0;
  const nextRoom = () => `presence-${++room}`;

  before(async () => {
    server = await startSymphony({
      authenticate: ({ token }) => {
        if (token === 'viewer') return { userId: 'victor', readOnly: true };
        if (token === null || token === 'editor') return { userId: `editor-${Math.random()}` };
        throw new AuthenticationError('unknown token');
      },
      limits: { maxPresenceStatesPerRoom: 6 },
    });
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  /** Two stock providers with a presence each, both seeing the other's. */
  async function twoUsers(name: string): Promise<[StockClient, StockClient]> {
    const alice = clients.open(server.url, name);
    const bob = clients.open(server.url, name);
    await Promise.all([alice.synced(), bob.synced()]);
    alice.provider.awareness.setLocalState({ user: 'alice' });
    bob.provider.awareness.setLocalState({ user: 'bob' });
    await waitFor(() => (stateSeenBy(bob, alice.doc.clientID) as { user?: string })?.user === 'alice', 'bob sees alice');
    await waitFor(() => (stateSeenBy(alice, bob.doc.clientID) as { user?: string })?.user === 'bob', 'alice sees bob');
    return [alice, bob];
  }

  /** Sends the attacker's own (valid) state after its attack and waits until `witness` has it: the attack was processed by then. */
  async function markAfterAttack(attacker: RawClient, witness: StockClient, clock: number): Promise<void> {
    attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock, state: JSON.stringify({ user: 'mallory', at: clock }) }]));
    await waitFor(() => (stateSeenBy(witness, ATTACKER_ID) as { at?: number } | undefined)?.at === clock, 'the attacker’s own state arrived');
  }

  describe('limits', () => {
    it('closes a read-only connection that announces 170,000 clients in one message with 4430, and keeps none of them', async () => {
      const name = nextRoom();
      const [, bob] = await twoUsers(name);
      const attacker = await rawClient(`${server.url}/${name}?token=viewer`);
      // Six bytes an entry: 170,000 of them fit in one message under the default maxMessageBytes.
      const entries = Array.from({ length: 170_000 }, (_, i) => ({ clientId: 20_000 + i, clock: 1, state: '0' }));
      attacker.socket.send(rawAwarenessMessage(entries));
      const closed = await attacker.closed;
      assert.deepEqual(closed, { code: CloseCode.presenceRefused, reason: 'too many presence clients' });
      await waitFor(() => server.symphony.presence(name).size === 2, 'only alice and bob are present');
      assert.equal([...bob.provider.awareness.getStates().keys()].filter((id) => id >= 20_000 && id < 190_000).length, 0);
    });

    it('closes a connection whose state is larger than maxPresenceStateBytes', async () => {
      const name = nextRoom();
      const attacker = await rawClient(`${server.url}/${name}`);
      attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: 1, state: JSON.stringify({ junk: 'x'.repeat(9_000) }) }]));
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'presence state too large' });
      assert.equal(server.symphony.presence(name).size, 0);
    });

    it('closes the connection that would take a room past maxPresenceStatesPerRoom', async () => {
      const name = nextRoom();
      const attackers = await Promise.all(Array.from({ length: 2 }, () => rawClient(`${server.url}/${name}`)));
      // Two connections of four clients each: the second passes the room's six.
      for (const [n, attacker] of attackers.entries()) {
        attacker.socket.send(rawAwarenessMessage([1, 2, 3, 4].map((i) => ({ clientId: 100 * (n + 1) + i, clock: 1, state: '{}' }))));
      }
      assert.deepEqual(await attackers[1].closed, { code: CloseCode.presenceRefused, reason: 'room presence full' });
      await waitFor(() => server.symphony.presence(name).size === 4, 'the second connection’s states are gone with it');
      assert.equal(attackers[0].socket.readyState, attackers[0].socket.OPEN);
    });

    it('closes a connection that sends more than maxPresenceMessagesPerSecond updates', async () => {
      const name = nextRoom();
      const attacker = await rawClient(`${server.url}/${name}`);
      for (let clock = 1; clock <= 400; clock++) {
        attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock, state: `{"x":${clock}}` }]));
      }
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'presence too frequent' });
    });

    it('answers presence queries at most once a second', async () => {
      const name = nextRoom();
      await twoUsers(name);
      const asker = await rawClient(`${server.url}/${name}`);
      // Presence sent on join, then the answer to the first query.
      await waitFor(() => awarenessReceived(asker).length >= 2, 'the join’s presence arrived');
      const before = asker.received.length;
      const queryAwareness = new Uint8Array([3]);
      for (let i = 0; i < 200; i++) asker.socket.send(queryAwareness);
      await waitFor(() => asker.received.length > before, 'the first query was answered');
      // A round trip after the queries: everything they caused has arrived by its answer.
      asker.socket.send(stepOneMessage());
      await waitFor(() => asker.received.some((message) => message[0] === 0 && message[1] === 1), 'sync step 2 arrived');
      const answers = asker.received.slice(before).filter((message) => readAwarenessMessage(message) !== null).length;
      assert.equal(answers, 1, '200 queries within a second get one answer');
    });
  });

  describe('spoofing', () => {
    it('drops entries for a client id another live connection announced: no overwrite, no freeze, no erase', async () => {
      const name = nextRoom();
      const [alice, bob] = await twoUsers(name);
      const aliceId = alice.doc.clientID;
      const clock = alice.provider.awareness.meta.get(aliceId)!.clock;
      const attacker = await rawClient(`${server.url}/${name}?token=viewer`);
      attacker.socket.send(
        rawAwarenessMessage([
          { clientId: aliceId, clock: clock + 1, state: JSON.stringify({ user: 'mallory pretending to be alice' }) },
          { clientId: aliceId, clock: Number.MAX_SAFE_INTEGER, state: JSON.stringify({ user: 'frozen' }) },
        ]),
      );
      attacker.socket.send(rawAwarenessMessage([{ clientId: aliceId, clock: Number.MAX_SAFE_INTEGER, state: 'null' }]));
      await markAfterAttack(attacker, bob, 1);
      assert.deepEqual(stateSeenBy(bob, aliceId), { user: 'alice' });
      assert.deepEqual(server.symphony.presence(name).get(aliceId), { user: 'alice' });

      // Alice's own next change still goes through: her clock was not frozen.
      alice.provider.awareness.setLocalStateField('cursor', { x: 1 });
      await waitFor(() => (stateSeenBy(bob, aliceId) as { cursor?: unknown }).cursor !== undefined, 'bob sees alice move');

      // The attacker leaving takes only its own presence with it.
      attacker.socket.close();
      await waitFor(() => stateSeenBy(bob, ATTACKER_ID) === undefined, 'the attacker’s presence is gone');
      assert.deepEqual(stateSeenBy(bob, aliceId), { user: 'alice', cursor: { x: 1 } });
      assert.ok(server.symphony.presence(name).has(aliceId));
    });

    it('closes a connection that announces its own client with a clock out of range', async () => {
      const name = nextRoom();
      const attacker = await rawClient(`${server.url}/${name}`);
      attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: Number.MAX_SAFE_INTEGER, state: '{}' }]));
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'presence clock out of range' });
    });

    it('closes a connection whose clock jumps far past the one the room knows', async () => {
      const name = nextRoom();
      const attacker = await rawClient(`${server.url}/${name}`);
      attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: 5, state: '{}' }]));
      attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: MAX_PRESENCE_CLOCK, state: '{}' }]));
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'presence clock out of range' });
    });
  });

  describe('states that are not JSON', () => {
    it('refuses a state that is not JSON and closes its sender; a stock client joining afterwards does not throw', async () => {
      const name = nextRoom();
      const [, bob] = await twoUsers(name);
      const attacker = await rawClient(`${server.url}/${name}`);
      attacker.socket.send(rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: 1, state: '{"user": not json' }]));
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'invalid presence state' });
      assert.equal(stateSeenBy(bob, ATTACKER_ID), undefined);

      // y-protocols parses every state it receives: a non-JSON one would throw an uncaught SyntaxError here.
      const carol = clients.open(server.url, name);
      await carol.synced();
      await waitFor(() => carol.provider.awareness.getStates().size === 3, 'carol sees alice and bob (and herself)');
      assert.equal(server.symphony.presence(name).has(ATTACKER_ID), false);
    });

    it('refuses a state that is not UTF-8', async () => {
      const name = nextRoom();
      const attacker = await rawClient(`${server.url}/${name}`);
      const message = rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: 1, state: '"ab"' }]);
      message[message.length - 2] = 0xff; // "a\xffb" inside the JSON string
      attacker.socket.send(message);
      assert.deepEqual(await attacker.closed, { code: CloseCode.presenceRefused, reason: 'invalid presence state' });
    });

    it('relays the sender’s bytes untouched when every entry was accepted, and only the accepted entries otherwise', async () => {
      const name = nextRoom();
      const [alice] = await twoUsers(name);
      const observer = await rawClient(`${server.url}/${name}`);
      const sender = await rawClient(`${server.url}/${name}`);
      const own = rawAwarenessMessage([{ clientId: ATTACKER_ID, clock: 1, state: '{"user":"sam"}' }]);
      sender.socket.send(own);
      await waitFor(() => observer.received.some((message) => Buffer.from(message).equals(Buffer.from(own))), 'the observer got the exact bytes');

      // Alice's id is not the sender's: her entry is left out of what the others receive.
      sender.socket.send(
        rawAwarenessMessage([
          { clientId: alice.doc.clientID, clock: 1_000, state: '{"user":"not alice"}' },
          { clientId: ATTACKER_ID, clock: 2, state: '{"user":"sam","cursor":1}' },
        ]),
      );
      await waitFor(() => awarenessReceived(observer).some((entry) => entry.clientId === ATTACKER_ID && entry.clock === 2), 'the observer got the accepted entry');
      const relayed = observer.received.map(readAwarenessMessage).find((entries) => entries?.some((entry) => entry.clock === 2));
      assert.deepEqual(relayed, [{ clientId: ATTACKER_ID, clock: 2, state: '{"user":"sam","cursor":1}' }]);
      assert.equal(sender.socket.readyState, sender.socket.OPEN, 'an echo of another client’s id is dropped, not punished');
    });
  });
});

describe('Presence', () => {
  const limits = { maxPresenceClientsPerConnection: 4, maxPresenceStateBytes: 1_024, maxPresenceStatesPerRoom: 100, maxPresenceMessagesPerSecond: 1_000 };
  const update = (clientId: number, clock: number, state: string) => rawAwarenessUpdate([{ clientId, clock, state }]);

  it('forgets the clocks of clients that left once PRESENCE_TOMBSTONE_MS passed, and never keeps more than a room may hold', () => {
    let now = 0;
    const presence = new Presence(limits, () => now);
    for (let i = 0; i < 5_000; i++) {
      now++;
      presence.apply(update(i, 1, '{}'), `connection-${i}`, 'connection');
      presence.removeOwner(`connection-${i}`);
    }
    assert.deepEqual(presence.sizes(), { states: 0, ownedClients: 0, tombstones: limits.maxPresenceStatesPerRoom });
    now += PRESENCE_TOMBSTONE_MS;
    presence.apply(update(9_999, 1, '{}'), 'late', 'connection');
    presence.removeOwner('late');
    assert.deepEqual(presence.sizes(), { states: 0, ownedClients: 0, tombstones: 1 });
  });

  it('keeps a client that just left from being brought back by a late echo of its last state', () => {
    const presence = new Presence(limits, () => 0);
    presence.apply(update(7, 3, '{"user":"alice"}'), 'alice', 'connection');
    assert.ok(presence.removeOwner('alice'));
    assert.equal(presence.apply(update(7, 3, '{"user":"alice"}'), 'bob', 'connection'), null);
    assert.equal(presence.getStates().size, 0);
  });

  it('drops entries from another node that break a limit instead of throwing', () => {
    const presence = new Presence(limits, () => 0);
    const relay = presence.apply(rawAwarenessUpdate([{ clientId: 1, clock: 1, state: 'nope' }, { clientId: 2, clock: 1, state: '{}' }]), 'node:b', 'node');
    assert.deepEqual([...presence.getStates().keys()], [2]);
    assert.ok(relay);
  });

  it('sends another node only the states of its own connections', () => {
    const presence = new Presence(limits, () => 0);
    presence.apply(update(1, 1, '{}'), 'node:b', 'node');
    presence.apply(update(2, 1, '{}'), 'local-connection', 'connection');
    assert.deepEqual(readAwarenessMessage(awarenessFrame(presence.encodeLocal()!))?.map((entry) => entry.clientId), [2]);
  });
});
