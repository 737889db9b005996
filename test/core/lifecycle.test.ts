import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { CloseCode, MemoryStore, type DocumentStore } from '../../lib/index.js';
import { ClientPool, rawClient, upgradeStatus } from '../support/clients.js';
import { startSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** A MemoryStore whose loads take a while and are counted. */
function slowStore(delayMs: number): DocumentStore & { loads: number; inner: MemoryStore } {
  const inner = new MemoryStore();
  return {
    inner,
    loads: 0,
    async load(room) {
      this.loads++;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return inner.load(room);
    },
    store: (room, state) => inner.store(room, state),
    append: (room, update) => inner.append(room, update),
  };
}

describe('room lifecycle', () => {
  const clients = new ClientPool();

  afterEach(() => clients.destroyAll());

  it('loads a room once when many clients connect to it at the same time', async () => {
    const store = slowStore(100);
    const server = await startSymphony({ store });
    try {
      const many = Array.from({ length: 8 }, () => clients.open(server.url, 'stampede'));
      await Promise.all(many.map((client) => client.synced()));
      assert.equal(store.loads, 1);
      assert.equal(server.symphony.connections('stampede').length, 8);
    } finally {
      await server.close();
    }
  });

  it('on close, checkpoints every room, closes sockets with 1012 and refuses new upgrades with 503', async () => {
    const store = new MemoryStore();
    const server = await startSymphony({ store });
    const raw = await rawClient(`${server.url}/closing`);
    const alice = clients.open(server.url, 'closing');
    await alice.synced();
    alice.doc.getMap('m').set('saved', 'at shutdown');
    await waitFor(() => server.symphony.room('closing')?.unsaved === true, 'the server has the edit');

    const closing = server.symphony.close();
    assert.equal(server.symphony.accepting, false);
    assert.equal(await upgradeStatus(`${server.url}/closing`), 503);
    assert.equal((await raw.closed).code, CloseCode.serviceRestart);
    await closing;
    await server.close();

    const saved = new Y.Doc();
    Y.applyUpdate(saved, (await store.load('closing'))!);
    assert.equal(saved.getMap('m').get('saved'), 'at shutdown');
  });

  it('keeps a room loaded while a client reconnects within the grace period', async () => {
    const store = slowStore(0);
    const server = await startSymphony({ store, unloadGraceMs: 500 });
    try {
      const first = clients.open(server.url, 'reload');
      await first.synced();
      clients.destroyAll();
      await waitFor(() => server.symphony.connections('reload').length === 0, 'the first client left');
      const second = clients.open(server.url, 'reload');
      await second.synced();
      assert.equal(store.loads, 1, 'the room was not reloaded');
    } finally {
      await server.close();
    }
  });

  it('emits events and runs hooks with typed payloads', async () => {
    const calls: string[] = [];
    const server = await startSymphony({
      unloadGraceMs: 20,
      onLoad: ({ room, source }) => void calls.push(`load ${room} ${source}`),
      onConnect: ({ connection }) => void calls.push(`connect ${connection.userId}`),
      onChange: ({ origin }) => void calls.push(`change ${origin.kind}`),
      onStore: ({ room }) => void calls.push(`store ${room}`),
      onDisconnect: ({ connection }) => void calls.push(`disconnect ${connection.userId}`),
    });
    const events: string[] = [];
    server.symphony.events.on('roomLoaded', ({ name }) => events.push(`loaded ${name}`));
    server.symphony.events.on('roomUnloaded', ({ room }) => events.push(`unloaded ${room}`));
    try {
      const alice = clients.open(server.url, 'hooks');
      await alice.synced();
      alice.doc.getMap('m').set('k', 1);
      await waitFor(() => calls.includes('change client'), 'onChange ran');
      await server.symphony.change('hooks', (doc) => doc.getMap('m').set('k', 2), { reason: 'migration' });
      clients.destroyAll();
      await waitFor(() => events.includes('unloaded hooks'), 'the room unloaded');
      assert.deepEqual(calls, ['load hooks new', 'connect anonymous', 'change client', 'change server', 'disconnect anonymous', 'store hooks']);
      assert.deepEqual(events, ['loaded hooks', 'unloaded hooks']);
    } finally {
      await server.close();
    }
  });

  it('keeps serving when a hook throws', async () => {
    const server = await startSymphony({
      onConnect: () => {
        throw new Error('hook bug');
      },
      onChange: () => {
        throw new Error('hook bug');
      },
    });
    try {
      const alice = clients.open(server.url, 'buggy-hooks');
      const bob = clients.open(server.url, 'buggy-hooks');
      await Promise.all([alice.synced(), bob.synced()]);
      alice.doc.getMap('m').set('k', 'v');
      await waitFor(() => bob.doc.getMap('m').get('k') === 'v', 'the update still reached bob');
    } finally {
      await server.close();
    }
  });
});
