import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { ClientPool } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

describe('stock y-websocket providers', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();

  beforeEach(async () => {
    server = await startSymphony({ unloadGraceMs: 50 });
  });

  afterEach(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('converge when two clients edit the same room', async () => {
    const alice = clients.open(server.url, 'board');
    const bob = clients.open(server.url, 'board');
    await Promise.all([alice.synced(), bob.synced()]);
    alice.doc.getMap('shapes').set('a', 'triangle');
    bob.doc.getText('title').insert(0, 'Plan');
    await waitFor(() => bob.doc.getMap('shapes').get('a') === 'triangle', 'bob sees the triangle');
    await waitFor(() => alice.doc.getText('title').toString() === 'Plan', 'alice sees the title');
  });

  it('gives a late joiner the full state', async () => {
    const alice = clients.open(server.url, 'board');
    await alice.synced();
    for (let i = 0; i < 50; i++) alice.doc.getArray('items').push([i]);
    await waitFor(() => server.symphony.room('board')?.documentBytes !== 0, 'server applied the items');
    const late = clients.open(server.url, 'board');
    await late.synced();
    assert.deepEqual(late.doc.getArray('items').toArray(), [...Array(50).keys()]);
  });

  it('merges edits a client made offline before it connected', async () => {
    const alice = clients.open(server.url, 'board');
    await alice.synced();
    alice.doc.getMap('shapes').set('online', 1);
    const offlineDoc = new Y.Doc();
    offlineDoc.getMap('shapes').set('offline', 2);
    const bob = clients.open(server.url, 'board', { doc: offlineDoc });
    await bob.synced();
    await waitFor(() => alice.doc.getMap('shapes').get('offline') === 2, 'alice receives the offline edit');
    await waitFor(() => bob.doc.getMap('shapes').get('online') === 1, 'bob receives the online edit');
  });

  it('relays presence and removes it as soon as a client leaves', async () => {
    const alice = clients.open(server.url, 'board');
    const bob = clients.open(server.url, 'board');
    await Promise.all([alice.synced(), bob.synced()]);
    alice.provider.awareness.setLocalState({ user: 'alice', cursor: { x: 1, y: 2 } });
    const aliceId = alice.doc.clientID;
    await waitFor(() => (bob.provider.awareness.getStates().get(aliceId) as { user?: string } | undefined)?.user === 'alice', 'bob sees alice');
    assert.deepEqual(server.symphony.presence('board').get(aliceId), { user: 'alice', cursor: { x: 1, y: 2 } });
    // Disconnect without a goodbye message: the server must announce the removal itself.
    alice.provider.shouldConnect = false;
    (alice.provider.ws as unknown as { terminate(): void }).terminate();
    await waitFor(() => !bob.provider.awareness.getStates().has(aliceId), 'alice disappears from bob', 3_000);
  });

  it('relays small, medium and large (over 64 KiB) updates intact', async () => {
    const alice = clients.open(server.url, 'sizes');
    const bob = clients.open(server.url, 'sizes');
    await Promise.all([alice.synced(), bob.synced()]);
    for (const length of [10, 300, 70_000, 200_000]) alice.doc.getMap('texts').set(String(length), 'x'.repeat(length));
    await waitFor(() => bob.doc.getMap('texts').size === 4, 'bob received every update');
    for (const length of [10, 300, 70_000, 200_000]) assert.equal((bob.doc.getMap('texts').get(String(length)) as string).length, length);
  });

  it('keeps rooms apart', async () => {
    const alice = clients.open(server.url, 'room-a');
    const bob = clients.open(server.url, 'room-b');
    await Promise.all([alice.synced(), bob.synced()]);
    alice.doc.getMap('m').set('k', 'a');
    bob.doc.getMap('m').set('k', 'b');
    await waitFor(() => server.symphony.room('room-a')?.unsaved === true && server.symphony.room('room-b')?.unsaved === true, 'both rooms changed');
    assert.equal(alice.doc.getMap('m').get('k'), 'a');
    assert.equal(bob.doc.getMap('m').get('k'), 'b');
  });

  it('does not echo a client its own updates while the room writes every message at once', async () => {
    // A busy room's coalesced frames serve every member, senders included (see fan-out.test.ts).
    await server.close();
    server = await startSymphony({ unloadGraceMs: 50, fanOut: { tickMs: 0 } });
    const alice = clients.open(server.url, 'board');
    const bob = clients.open(server.url, 'board');
    await Promise.all([alice.synced(), bob.synced()]);
    const received: number[] = [];
    alice.provider.ws?.addEventListener('message', (event) => received.push((event.data as ArrayBuffer).byteLength));
    alice.doc.getMap('m').set('k', 'v');
    alice.provider.awareness.setLocalState({ user: 'alice' });
    await waitFor(() => bob.doc.getMap('m').get('k') === 'v' && bob.provider.awareness.getStates().has(alice.doc.clientID), 'bob received both');
    bob.doc.getMap('m').set('marker', true);
    await waitFor(() => alice.doc.getMap('m').get('marker') === true, 'alice receives bob’s marker');
    assert.equal(received.length, 1, 'alice received only bob’s update');
  });
});
