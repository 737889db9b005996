import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { FileStore, type DocumentStore } from '../../lib/index.js';
import { ClientPool, upgradeStatus } from '../support/clients.js';
import { startExample } from '../support/example-process.js';
import { startSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

describe('persistence', () => {
  let dataDirectory: string;
  const clients = new ClientPool();

  beforeEach(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'symphony-persistence-'));
  });

  afterEach(async () => {
    clients.destroyAll();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('keeps a document across a graceful restart', async () => {
    const first = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    const alice = clients.open(first.url, 'notes');
    await alice.synced();
    alice.doc.getText('body').insert(0, 'remember me');
    await waitFor(() => first.symphony.room('notes')?.unsaved === true, 'the server has the edit');
    await first.close();
    clients.destroyAll();

    const second = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    try {
      const bob = clients.open(second.url, 'notes');
      await bob.synced();
      assert.equal(bob.doc.getText('body').toString(), 'remember me');
    } finally {
      clients.destroyAll();
      await second.close();
    }
  });

  it('checkpoints when the last connection leaves and unloads the room after the grace period', async () => {
    const store = new FileStore({ directory: dataDirectory });
    const server = await startSymphony({ store, unloadGraceMs: 100 });
    try {
      const alice = clients.open(server.url, 'short-visit');
      await alice.synced();
      alice.doc.getMap('m').set('k', 1);
      await waitFor(() => server.symphony.room('short-visit')?.unsaved === true, 'the server has the edit');
      clients.destroyAll();
      await waitFor(() => server.symphony.room('short-visit') === undefined, 'the room is unloaded');
      const [folder] = await readdir(dataDirectory);
      // The first snapshot keeps the journal it covers: with no older snapshot, that journal is what a damaged snapshot falls back to.
      assert.deepEqual((await readdir(join(dataDirectory, folder))).filter((name) => /^(journal|snapshot)-/.test(name)).sort(), ['journal-1.v2.log', 'snapshot-1.bin']);
    } finally {
      await server.close();
    }
  });

  it('checkpoints every checkpointIntervalMs while a room has unsaved changes', async () => {
    const server = await startSymphony({ store: new FileStore({ directory: dataDirectory }), checkpointIntervalMs: 100 });
    try {
      const alice = clients.open(server.url, 'busy');
      await alice.synced();
      alice.doc.getMap('m').set('k', 1);
      await waitFor(() => server.symphony.room('busy')?.lastCheckpointAt != null && !server.symphony.room('busy')!.unsaved, 'a periodic checkpoint ran', 2_000);
    } finally {
      clients.destroyAll();
      await server.close();
    }
  });

  it('never loses an update that reached the server 100 ms before kill -9', async () => {
    const env = { SYMPHONY_DATA_DIR: dataDirectory };
    const first = await startExample('express', env);
    try {
      const alice = clients.open(first.collabUrl, 'crash');
      const witness = clients.open(first.collabUrl, 'crash');
      await Promise.all([alice.synced(), witness.synced()]);
      alice.doc.getText('body').insert(0, 'written just before the crash');
      await waitFor(() => witness.doc.getText('body').length > 0, 'the server relayed the update');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.kill();
    } finally {
      clients.destroyAll();
      await first.kill();
    }
    const second = await startExample('express', env);
    try {
      const bob = clients.open(second.collabUrl, 'crash');
      await bob.synced();
      assert.equal(bob.doc.getText('body').toString(), 'written just before the crash');
    } finally {
      clients.destroyAll();
      await second.stop();
    }
  });

  it('tolerates a torn last journal record and keeps everything before it', async () => {
    const store = new FileStore({ directory: dataDirectory, journalFlushIntervalMs: 0 });
    const doc = new Y.Doc();
    doc.on('update', (update: Uint8Array) => store.append('torn', update));
    await store.load('torn');
    doc.getArray('a').push([1]);
    doc.getArray('a').push([2]);
    await store.release('torn');
    const [folder] = await readdir(dataDirectory);
    const [journal] = await readdir(join(dataDirectory, folder));
    // A crash mid-write leaves a record header promising more bytes than follow.
    await writeFile(join(dataDirectory, folder, journal), Buffer.concat([await readFile(join(dataDirectory, folder, journal)), Buffer.from([200, 0, 0, 0, 1, 2, 3])]));

    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load('torn'))!);
    assert.deepEqual(reloaded.getArray('a').toArray(), [1, 2]);
  });

  it('ignores a temporary file left by a crash in the middle of a checkpoint', async () => {
    const store = new FileStore({ directory: dataDirectory });
    const doc = new Y.Doc();
    doc.getMap('m').set('k', 'v');
    await store.store('mid-checkpoint', Y.encodeStateAsUpdate(doc));
    const [folder] = await readdir(dataDirectory);
    await writeFile(join(dataDirectory, folder, 'snapshot.bin.abc.tmp'), Buffer.from('half a snapshot'));
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load('mid-checkpoint'))!);
    assert.equal(reloaded.getMap('m').get('k'), 'v');
  });

  it('keeps updates appended during a checkpoint in the journal', async () => {
    const store = new FileStore({ directory: dataDirectory, journalFlushIntervalMs: 0 });
    const doc = new Y.Doc();
    doc.on('update', (update: Uint8Array) => store.append('racing', update));
    await store.load('racing');
    doc.getArray('a').push(['before']);
    const checkpoint = store.store('racing', Y.encodeStateAsUpdate(doc));
    doc.getArray('a').push(['during']);
    await checkpoint;
    await store.release('racing');
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load('racing'))!);
    assert.deepEqual(reloaded.getArray('a').toArray(), ['before', 'during']);
  });

  it('keeps at most maxOpenJournals journals open, reopening one when its room writes again', async () => {
    const store = new FileStore({ directory: dataDirectory, journalFlushIntervalMs: 0, maxOpenJournals: 2 });
    const docs = ['r1', 'r2', 'r3'].map((room) => {
      const doc = new Y.Doc();
      doc.on('update', (update: Uint8Array) => store.append(room, update));
      return { room, doc };
    });
    for (const { room } of docs) await store.load(room);
    for (let round = 0; round < 3; round++) {
      for (const { doc } of docs) {
        doc.getArray('a').push([round]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await store.close();
    for (const { room } of docs) {
      const reloaded = new Y.Doc();
      Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load(room))!);
      assert.deepEqual(reloaded.getArray('a').toArray(), [0, 1, 2], room);
    }
  });

  it('keeps every room inside the data directory, whatever its name', async () => {
    const store = new FileStore({ directory: join(dataDirectory, 'rooms') });
    const names = ['../../escape', '..', '/etc/passwd', 'a\u0000b', 'é'.repeat(300), '%2F..%2F'];
    for (const name of names) await store.store(name, Y.encodeStateAsUpdate(new Y.Doc()));
    assert.deepEqual(await readdir(dataDirectory), ['rooms']);
    assert.equal((await readdir(join(dataDirectory, 'rooms'))).length, names.length);
  });

  it('never serves a room whose stored state cannot be read, and never overwrites it', async () => {
    const store = new FileStore({ directory: dataDirectory });
    await store.store('damaged', Y.encodeStateAsUpdate(new Y.Doc()));
    const [folder] = await readdir(dataDirectory);
    const snapshot = join(dataDirectory, folder, 'snapshot-1.bin');
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
    await writeFile(snapshot, garbage);
    const server = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    try {
      assert.equal(await upgradeStatus(`${server.url}/damaged`), 503);
      assert.equal(server.symphony.room('damaged'), undefined);
      assert.equal(server.symphony.stats().roomLoadFailures, 1);
    } finally {
      await server.close();
    }
    assert.deepEqual(await readFile(snapshot), garbage, 'the stored bytes are untouched');
  });

  it('keeps a room whose checkpoint fails in memory and retries until it succeeds', async () => {
    let failuresLeft = 2;
    const inner = new FileStore({ directory: dataDirectory });
    const flaky: DocumentStore = {
      load: (room) => inner.load(room),
      append: (room, update) => inner.append(room, update),
      release: (room) => inner.release(room),
      async store(room, state) {
        if (failuresLeft-- > 0) throw new Error('disk unavailable');
        return inner.store(room, state);
      },
    };
    const server = await startSymphony({ store: flaky, unloadGraceMs: 50, checkpointIntervalMs: 100 });
    const failed: number[] = [];
    server.symphony.events.on('checkpointFailed', ({ attempt }) => failed.push(attempt));
    try {
      const alice = clients.open(server.url, 'flaky');
      await alice.synced();
      alice.doc.getMap('m').set('k', 'precious');
      await waitFor(() => server.symphony.room('flaky')?.unsaved === true, 'the server has the edit');
      clients.destroyAll();
      await waitFor(() => failed.length >= 1, 'a checkpoint failed');
      assert.ok(server.symphony.room('flaky'), 'the room stays loaded with unsaved changes');
      await waitFor(() => server.symphony.room('flaky') === undefined, 'the room unloads once a retry succeeded', 8_000);
      assert.deepEqual(failed, [1, 2]);
    } finally {
      await server.close();
    }
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load('flaky'))!);
    assert.equal(reloaded.getMap('m').get('k'), 'precious');
  });
});
