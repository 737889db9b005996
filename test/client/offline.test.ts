import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.js';
import { ClientPool, RestartableServer, uniqueRoom, waitForStatus } from './harness.js';

describe('client SDK: offline storage (IndexedDB)', () => {
  const server = new RestartableServer();
  const clients = new ClientPool();

  before(() => server.start());
  afterEach(() => clients.destroyAll());
  after(() => server.stop());

  it('keeps working without the server, survives a reload while offline, and syncs when the server returns', async () => {
    const room = uniqueRoom('offline');
    // Alice's browser keeps an offline copy; Bob's does not.
    const aliceBrowser = { offline: true, storagePrefix: 'alice' };
    const alice = clients.open(server.url, aliceBrowser).enterRoom(room);
    const bob = clients.open(server.url).enterRoom(room);
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    alice.map('shapes').set('before', 'drawn online');
    await waitFor(() => bob.map('shapes').get('before') === 'drawn online', 'Bob sees the first shape');

    await server.stop();
    await waitForStatus(alice, 'offline');
    alice.map('shapes').set('during', 'drawn offline');
    await alice.leave(); // the page is reloaded while the network is still gone

    const reloaded = clients.open(server.url, aliceBrowser).enterRoom(room);
    await reloaded.whenLoaded();
    assert.equal(reloaded.status, 'offline', 'the server is still unreachable');
    assert.deepEqual(reloaded.map('shapes').toJSON(), { before: 'drawn online', during: 'drawn offline' });

    await server.start();
    await waitForStatus(reloaded, 'synced');
    await waitFor(() => bob.map('shapes').get('during') === 'drawn offline', 'Bob receives the shape drawn offline');
  });

  it('has the document before the socket connects', async () => {
    const room = uniqueRoom('local-first');
    const first = clients.open(server.url, { offline: true, storagePrefix: 'carol' }).enterRoom(room);
    first.text('title').insert(0, 'Quarterly plan');
    await Promise.all([first.whenLoaded(), first.whenSynced()]);
    await first.leave();

    const again = clients.open(server.url, { offline: true, storagePrefix: 'carol' }).enterRoom(room);
    assert.equal(again.status, 'connecting');
    await again.whenLoaded();
    assert.equal(again.text('title').toString(), 'Quarterly plan');
    assert.equal(again.canUndo(), false, 'the offline copy is not an undoable change');
  });

  it('keeps offline copies of different users of one browser apart (storagePrefix)', async () => {
    const room = uniqueRoom('two-accounts');
    await server.stop();
    const dave = clients.open(server.url, { offline: true, storagePrefix: 'dave' }).enterRoom(room);
    await dave.whenLoaded();
    dave.map('private').set('draft', 'only mine');
    await dave.leave();

    const erin = clients.open(server.url, { offline: true, storagePrefix: 'erin' }).enterRoom(room);
    await erin.whenLoaded();
    assert.equal(erin.map('private').get('draft'), undefined);
    await server.start();
  });

  it('deletes the offline copy on leave({ clearOfflineData: true })', async () => {
    const room = uniqueRoom('sign-out');
    await server.stop();
    const frank = clients.open(server.url, { offline: true, storagePrefix: 'frank' }).enterRoom(room);
    await frank.whenLoaded();
    frank.map('notes').set('n1', 'kept only locally');
    await frank.leave({ clearOfflineData: true });

    const again = clients.open(server.url, { offline: true, storagePrefix: 'frank' }).enterRoom(room);
    await again.whenLoaded();
    assert.equal(again.map('notes').size, 0);
    await server.start();
  });
});
