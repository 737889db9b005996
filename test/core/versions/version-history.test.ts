import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import {
  FileStore,
  InvalidArgumentError,
  MemoryStore,
  silentLogger,
  UnsupportedOperationError,
  type DocumentStore,
  type VersionInfo,
  type VersionStore,
} from '../../../lib/index.js';
import { FileVersionStore } from '../../../lib/core/versions/file-version-store.js';
import { ClientPool } from '../../support/clients.js';
import { startSymphony, type RunningSymphony } from '../../support/symphony-server.js';
import { waitFor } from '../../support/wait-for.js';

describe('version history on the FileStore', () => {
  let directory: string;
  let server: RunningSymphony | null = null;
  const clients = new ClientPool();

  async function start(options: Parameters<typeof startSymphony>[0] = {}): Promise<RunningSymphony> {
    server = await startSymphony({ store: new FileStore({ directory, logger: silentLogger }), checkpointIntervalMs: 50, unloadGraceMs: 20, ...options });
    return server;
  }

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'symphony-versions-'));
  });

  afterEach(async () => {
    clients.destroyAll();
    await server?.close();
    server = null;
    await rm(directory, { recursive: true, force: true });
  });

  it('writes an automatic version at each checkpoint that changed the document, and none at those that did not', async () => {
    const { symphony, url } = await start();
    const created: VersionInfo[] = [];
    symphony.events.on('versionCreated', (version) => created.push(version));
    const alice = clients.open(url, 'notes');
    await alice.synced();
    alice.doc.getText('t').insert(0, 'first');
    await waitFor(() => created.length === 1, 'a version of the first edit');
    alice.doc.getText('t').insert(5, ' second');
    await waitFor(() => created.length === 2, 'a version of the second edit');
    const [newest, oldest] = await symphony.listVersions('notes');
    assert.deepEqual([newest.id, oldest.id], [created[1].id, created[0].id], 'newest first');
    assert.equal(newest.kind, 'auto');
    const doc = new Y.Doc();
    Y.applyUpdate(doc, (await symphony.readVersion('notes', oldest.id))!.state);
    assert.equal(doc.getText('t').toString(), 'first');

    // A restart, a client that syncs without changing anything, a room that unloads: no new version.
    clients.destroyAll();
    await server!.close();
    const restarted = await start();
    const bob = clients.open(restarted.url, 'notes');
    await bob.synced();
    await waitFor(() => bob.doc.getText('t').toString() === 'first second', 'bob receives the document');
    clients.destroyAll();
    await waitFor(() => restarted.symphony.room('notes') === undefined, 'the room unloads');
    // Closing waits for every version write in progress.
    await restarted.close();
    server = null;
    assert.equal((await new FileVersionStore({ directory }).list('notes')).length, 2);
  });

  it('thins automatic versions by the retention policy after each new one, and keeps named versions', async () => {
    // One window of ~31 years: only the newest automatic version survives each thinning.
    const { symphony, url } = await start({ versions: { retention: [{ withinMs: 1e12, everyMs: 1e12 }] } });
    let automatic = 0;
    symphony.events.on('versionCreated', (version) => {
      if (version.kind === 'auto') automatic++;
    });
    const alice = clients.open(url, 'thinned');
    await alice.synced();
    alice.doc.getArray('a').push([1]);
    await waitFor(() => automatic === 1, 'the first automatic version');
    const named = await symphony.createVersion('thinned', { name: 'milestone', createdBy: 'alice' });
    for (const value of [2, 3]) {
      alice.doc.getArray('a').push([value]);
      await waitFor(() => automatic === value, `automatic version ${value}`);
    }
    await waitFor(async () => (await symphony.listVersions('thinned')).length === 2, 'the older automatic versions are thinned');
    const versions = await symphony.listVersions('thinned');
    assert.deepEqual(versions.map((version) => version.kind), ['auto', 'named']);
    assert.equal(versions[1].id, named.id);
    assert.deepEqual(await symphony.toJSON('thinned'), { a: [1, 2, 3] });
    const latest = new Y.Doc();
    Y.applyUpdate(latest, (await symphony.readVersion('thinned', versions[0].id))!.state);
    assert.deepEqual(latest.getArray('a').toArray(), [1, 2, 3]);
  });

  it('creates, lists and reads named versions, of loaded and unloaded rooms', async () => {
    const { symphony } = await start({ versions: { automatic: false } });
    await symphony.change('plan', (doc) => doc.getMap('m').set('step', 1));
    const first = await symphony.createVersion('plan', { name: 'draft', createdBy: 'alice' });
    assert.equal(first.kind, 'named');
    assert.equal(first.name, 'draft');
    assert.equal(first.createdBy, 'alice');
    await waitFor(() => symphony.room('plan') === undefined, 'the room unloads');
    await symphony.change('plan', (doc) => doc.getMap('m').set('step', 2));
    await waitFor(() => symphony.room('plan') === undefined, 'the room unloads again');
    const second = await symphony.createVersion('plan', { name: 'final' });
    assert.deepEqual((await symphony.listVersions('plan')).map((version) => version.name), ['final', 'draft']);
    const read = await symphony.readVersion('plan', first.id);
    assert.deepEqual(read?.info, first);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, read!.state);
    assert.equal(doc.getMap('m').get('step'), 1);
    assert.equal(second.bytes, (await symphony.readState('plan'))!.byteLength);
    assert.equal(await symphony.readVersion('plan', '000000000-00000000'), null);
    assert.equal(await symphony.readVersion('plan', '../../etc/passwd'), null);
    assert.deepEqual(await symphony.listVersions('never-created'), []);
  });

  it('retries a failed automatic version at the next checkpoint, without failing the checkpoint', async () => {
    const files = new FileVersionStore({ directory });
    let failNext = true;
    const flaky: VersionStore = {
      put: (info, state) => {
        if (!failNext) return files.put(info, state);
        failNext = false;
        return Promise.reject(new Error('disk unavailable'));
      },
      list: (room) => files.list(room),
      read: (room, id) => files.read(room, id),
      delete: (room, ids) => files.delete(room, ids),
      deleteAll: (room) => files.deleteAll(room),
    };
    const { symphony, url } = await start({ versions: { store: flaky } });
    let checkpoints = 0;
    let failures = 0;
    symphony.events.on('checkpoint', () => checkpoints++);
    symphony.events.on('checkpointFailed', () => failures++);
    const alice = clients.open(url, 'flaky');
    await alice.synced();
    alice.doc.getText('t').insert(0, 'kept');
    await waitFor(() => checkpoints === 1 && !failNext, 'a checkpoint whose version write failed');
    clients.destroyAll();
    await waitFor(async () => (await symphony.listVersions('flaky')).length === 1, 'the checkpoint when alice leaves retries the version');
    assert.equal(failures, 0);
  });

  it('refuses a version name that is not a short string', async () => {
    const { symphony } = await start();
    await assert.rejects(
      symphony.createVersion('labels', { name: 'x'.repeat(257) }),
      (error: unknown) => error instanceof InvalidArgumentError && error.message === '"name" must be a string of at most 256 characters' && error.room === 'labels',
    );
    await assert.rejects(symphony.createVersion('labels', { createdBy: 42 as unknown as string }), InvalidArgumentError);
  });

  it('keeps versions in memory beside a MemoryStore, and is off beside a store it does not know', async () => {
    const memory = await startSymphony({ store: new MemoryStore() });
    try {
      await memory.symphony.change('m', (doc) => doc.getText('t').insert(0, 'x'));
      await memory.symphony.createVersion('m', { name: 'kept' });
      assert.ok((await memory.symphony.listVersions('m')).some((version) => version.name === 'kept'));
    } finally {
      await memory.close();
    }
    const backing = new MemoryStore();
    const unknown: DocumentStore = { load: (room) => backing.load(room), store: (room, state) => backing.store(room, state) };
    const other = await startSymphony({ store: unknown });
    try {
      await assert.rejects(other.symphony.listVersions('m'), UnsupportedOperationError);
      await assert.rejects(other.symphony.deleteRoom('m'), UnsupportedOperationError);
    } finally {
      await other.close();
    }
  });

  it('stores versions beside the document, in the room’s folder', async () => {
    const { symphony } = await start();
    await symphony.change('beside', (doc) => doc.getText('t').insert(0, 'x'));
    const version = await symphony.createVersion('beside', { name: 'n' });
    const [folder] = (await readdir(directory)).filter((name) => name.startsWith('beside-'));
    assert.ok(folder, 'the room has a folder');
    const files = await readdir(join(directory, folder, 'versions'));
    assert.ok(files.includes(`${version.id}.bin`) && files.includes(`${version.id}.json`));
  });
});
