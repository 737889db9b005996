import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore } from '../../../lib/index.js';

describe('listing and deleting stored rooms', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'symphony-stored-rooms-'));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('lists a FileStore’s rooms by their names, whatever characters they hold', async () => {
    const store = new FileStore({ directory });
    for (const room of ['b/../x', 'a ünïcødé', 'a-plain']) await store.store(room, new Uint8Array([0, 0]));
    await store.close();
    const reopened = new FileStore({ directory });
    assert.deepEqual(await reopened.list({ limit: 10 }), ['a ünïcødé', 'a-plain', 'b/../x']);
    assert.deepEqual(await reopened.list({ prefix: 'a', after: 'a ünïcødé', limit: 10 }), ['a-plain']);
    await reopened.close();
  });

  it('records the name of a room stored before names were recorded when it is next loaded', async () => {
    const store = new FileStore({ directory });
    await store.store('older', new Uint8Array([0, 0]));
    await store.close();
    const [folder] = await readdir(directory);
    await unlink(join(directory, folder, 'room-name.txt'));
    const reopened = new FileStore({ directory });
    assert.deepEqual(await reopened.list({ limit: 10 }), []);
    assert.notEqual(await reopened.load('older'), null);
    assert.deepEqual(await reopened.list({ limit: 10 }), ['older']);
    await reopened.close();
  });

  it('deletes a FileStore room with its journal, including updates not yet written', async () => {
    const store = new FileStore({ directory });
    await store.store('gone', new Uint8Array([0, 0]));
    store.append('gone', new Uint8Array([0, 0]));
    assert.equal(await store.delete('gone'), true);
    assert.equal(await store.load('gone'), null);
    assert.deepEqual(await readdir(directory), []);
    assert.equal(await store.delete('gone'), false);
    await store.close();
  });

  it('lists and deletes MemoryStore rooms', async () => {
    const store = new MemoryStore();
    store.append('journal-only', new Uint8Array([0, 0]));
    await store.store('stored', new Uint8Array([0, 0]));
    assert.deepEqual(await store.list({ limit: 10 }), ['journal-only', 'stored']);
    assert.equal(await store.delete('journal-only'), true);
    assert.deepEqual(await store.list({ limit: 10 }), ['stored']);
  });
});
