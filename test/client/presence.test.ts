import assert from 'node:assert/strict';
import type { OtherUser } from '../../client/index.js';
import { waitFor } from '../support/wait-for.js';
import { ClientPool, RestartableServer, uniqueRoom } from './harness.js';

interface Cursor {
  name: string;
  color: string;
  cursor: { x: number; y: number } | null;
}

describe('client SDK: presence', () => {
  const server = new RestartableServer();
  const clients = new ClientPool();

  before(() => server.start());
  afterEach(() => clients.destroyAll());
  after(() => server.stop());

  async function aliceAndBob() {
    const room = uniqueRoom('presence');
    const alice = clients.open(server.url).enterRoom<Cursor>(room, { initialPresence: { name: 'Alice', color: '#e11d48', cursor: null } });
    const bob = clients.open(server.url).enterRoom<Cursor>(room, { initialPresence: { name: 'Bob', color: '#2563eb', cursor: null } });
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    await waitFor(() => bob.presence.others().length === 1 && alice.presence.others().length === 1, 'Alice and Bob see each other');
    return { alice, bob };
  }

  it('shows each user the others with their initial presence, never themselves', async () => {
    const { alice, bob } = await aliceAndBob();
    assert.deepEqual(
      bob.presence.others().map((other) => other.presence.name),
      ['Alice'],
    );
    assert.equal(bob.presence.others()[0].clientId, alice.presence.clientId);
    assert.deepEqual(alice.presence.get(), { name: 'Alice', color: '#e11d48', cursor: null });
  });

  it('merges a partial set() into the presence and tells subscribers', async () => {
    const { alice, bob } = await aliceAndBob();
    const seen: OtherUser<Cursor>[][] = [];
    bob.presence.subscribe((others) => seen.push([...others]));
    alice.presence.set({ cursor: { x: 10, y: 20 } });
    assert.deepEqual(alice.presence.get(), { name: 'Alice', color: '#e11d48', cursor: { x: 10, y: 20 } }, 'the own presence changes at once');
    await waitFor(() => seen.some((others) => others[0]?.presence.cursor?.x === 10), 'Bob is told about the cursor');
    assert.deepEqual(seen.at(-1)![0].presence, { name: 'Alice', color: '#e11d48', cursor: { x: 10, y: 20 } });
  });

  it('sends at most 10 presence updates per second by default, always ending with the last value', async () => {
    const { alice, bob } = await aliceAndBob();
    const cursorsSeen: number[] = [];
    bob.presence.subscribe((others) => {
      const x = others[0]?.presence.cursor?.x;
      if (x !== undefined) cursorsSeen.push(x);
    });
    // A pointer moving for about 600 ms, one event every 5 ms.
    const startedAt = Date.now();
    for (let x = 1; x <= 120; x++) {
      alice.presence.set({ cursor: { x, y: 0 } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => cursorsSeen.at(-1) === 120, 'Bob sees the last position');
    const allowed = Math.ceil((Date.now() - startedAt) / 100) + 1;
    assert.ok(cursorsSeen.length <= allowed, `Bob received ${cursorsSeen.length} updates for 120 moves (at most ${allowed} allowed)`);
    assert.ok(cursorsSeen.length >= 3, 'updates flow during the movement, not only at its end');
  });

  it('tells the others at once when a user leaves', async () => {
    const { alice, bob } = await aliceAndBob();
    let othersOfBob: readonly OtherUser<Cursor>[] = bob.presence.others();
    bob.presence.subscribe((others) => (othersOfBob = others));
    await alice.leave();
    await waitFor(() => othersOfBob.length === 0, 'Bob no longer sees Alice', 2_000);
  });

  it('honours a custom throttle', async () => {
    const room = uniqueRoom('presence-throttle');
    const alice = clients.open(server.url, { presenceThrottleMs: 0 }).enterRoom<{ n: number }>(room, { initialPresence: { n: 0 } });
    const bob = clients.open(server.url).enterRoom<{ n: number }>(room, { initialPresence: { n: -1 } });
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    const seen: number[] = [];
    bob.presence.subscribe((others) => {
      if (others[0]) seen.push(others[0].presence.n);
    });
    for (let n = 1; n <= 5; n++) {
      alice.presence.set({ n });
      await waitFor(() => seen.at(-1) === n, `Bob sees n=${n}`);
    }
    assert.deepEqual(seen.slice(-5), [1, 2, 3, 4, 5]);
  });
});
