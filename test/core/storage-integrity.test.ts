import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { createJsonLogger, FileStore } from '../../lib/index.js';
import { decodeLegacyRecords, decodeRecords, encodeRecords } from '../../lib/core/storage/journal-records.js';
import { roomFileName } from '../../lib/core/storage/room-file-name.js';
import { ClientPool, upgradeStatus } from '../support/clients.js';
import { startExample } from '../support/example-process.js';
import { startSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';
import { startDashboardServer, TOKEN } from '../dashboard/support.js';

const ADMIN_TOKEN = 'storage-integrity-admin-token-0123456789';

function update(build: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc();
  build(doc);
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The files of a room folder that hold its document (leaving out its name file and versions), sorted. */
async function documentFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name !== 'room-name.txt' && name !== 'versions').sort();
}

describe('journal framing', () => {
  const records = [1, 2, 3].map((n) => update((doc) => doc.getMap('m').set(`k${n}`, n)));

  it('serves the records after a damaged one and counts the damage', () => {
    const journal = encodeRecords(records);
    journal[12 + 3] ^= 0x10; // inside the first record's payload
    const decoded = decodeRecords(journal);
    assert.deepEqual(decoded.updates.map((u) => Buffer.from(u)), records.slice(1).map((u) => Buffer.from(u)));
    assert.equal(decoded.damagedBytes, 16 + records[0].byteLength);
    assert.equal(decoded.tornBytes, 0);
  });

  it('resynchronises after a damaged length, which no longer says where the next record starts', () => {
    const journal = encodeRecords(records);
    journal[4] ^= 0x7f; // the first record's length
    assert.equal(decodeRecords(journal).updates.length, 2);
  });

  it('tells a torn tail from damage', () => {
    const journal = encodeRecords(records);
    const torn = decodeRecords(journal.subarray(0, journal.length - 5));
    assert.equal(torn.updates.length, 2);
    assert.equal(torn.damagedBytes, 0);
    assert.ok(torn.tornBytes > 0);
    const lastFlipped = Buffer.from(journal);
    lastFlipped[lastFlipped.length - 6] ^= 1; // a complete last record whose checksum fails
    const damaged = decodeRecords(lastFlipped);
    assert.equal(damaged.updates.length, 2);
    assert.equal(damaged.tornBytes, 0);
    assert.ok(damaged.damagedBytes > 0);
  });

  it('reads journals in the format before the magic', () => {
    const legacy = Buffer.concat(
      records.map((payload) => {
        const header = Buffer.alloc(8);
        header.writeUInt32LE(payload.byteLength, 0);
        header.writeUInt32LE(crc32(payload), 4);
        return Buffer.concat([header, payload]);
      }),
    );
    assert.equal(decodeLegacyRecords(legacy).updates.length, 3);
    const torn = decodeLegacyRecords(legacy.subarray(0, legacy.length - 2));
    assert.deepEqual([torn.updates.length, torn.damagedBytes > 0, torn.tornBytes > 0], [2, false, true]);
  });
});

describe('storage integrity', () => {
  let dataDirectory: string;
  const clients = new ClientPool();

  beforeEach(async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'symphony-integrity-'));
  });

  afterEach(async () => {
    clients.destroyAll();
    await rm(dataDirectory, { recursive: true, force: true });
  });

  it('serves the records after a damaged journal record, flags the room and keeps the damaged journal through checkpoints', async () => {
    const room = 'flipped';
    const folder = join(dataDirectory, roomFileName(room));
    const journal = join(folder, 'journal-1.v2.log');
    const env = { SYMPHONY_DATA_DIR: dataDirectory, SYMPHONY_ADMIN_TOKEN: ADMIN_TOKEN };
    const first = await startExample('express', env);
    try {
      // Three writers, so that no record depends on another: the first one's loss hides nothing else.
      for (const key of ['k1', 'k2', 'k3']) {
        const before = await sizeOf(journal);
        const writer = clients.open(first.collabUrl, room);
        await writer.synced();
        writer.doc.getMap('m').set(key, key);
        await waitFor(async () => (await sizeOf(journal)) > before, `the record of ${key} is journaled`);
      }
      await first.kill();
    } finally {
      clients.destroyAll();
      await first.kill();
    }
    const written = await readFile(journal);
    assert.equal(decodeRecords(written).updates.length, 3);
    written[12 + 4] ^= 0x01; // one bit inside the first record's payload
    await writeFile(journal, written);

    const second = await startExample('express', env);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    try {
      const bob = clients.open(second.collabUrl, room);
      await bob.synced();
      assert.deepEqual(bob.doc.getMap('m').toJSON(), { k2: 'k2', k3: 'k3' });

      const details = (await (await fetch(`${second.baseUrl}/admin/api/rooms/${room}`, { headers: admin })).json()) as {
        room: { damaged: boolean; storageDamage: { kind: string; file: string; quarantinedAs: string }[] };
      };
      assert.equal(details.room.damaged, true);
      assert.deepEqual(
        details.room.storageDamage.map((damage) => [damage.kind, damage.file, damage.quarantinedAs]),
        [['journal', join(roomFileName(room), 'journal-1.v2.log'), join(roomFileName(room), 'damaged-journal-1.v2.log')]],
      );
      const list = (await (await fetch(`${second.baseUrl}/admin/api/rooms`, { headers: admin })).json()) as { rooms: { name: string; damaged: boolean }[] };
      assert.equal(list.rooms.find((item) => item.name === room)?.damaged, true);
      const metrics = await (await fetch(`${second.baseUrl}/admin/metrics`, { headers: admin })).text();
      assert.match(metrics, /^symphony_rooms_damaged\{[^}]*\} 1$/m);
      assert.match(metrics, /^symphony_storage_damage_found_total\{[^}]*\} 1$/m);
      const errors = second
        .log()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.level === 50);
      assert.ok(errors.some((entry) => entry.msg.includes('journal has damaged records')), second.log());

      // Two checkpoints (the example writes one when a room empties): the second prunes journal-1, the quarantined copy stays.
      bob.doc.getMap('m').set('k4', 'k4');
      await waitFor(() => bob.doc.getMap('m').size === 3, 'the edit is applied locally');
      clients.destroyAll();
      await waitFor(async () => (await readdir(folder)).includes('snapshot-2.bin'), 'the first checkpoint after the load');
      const carol = clients.open(second.collabUrl, room);
      await carol.synced();
      carol.doc.getMap('m').set('k5', 'k5');
      await waitFor(async () => (await sizeOf(join(folder, 'journal-3.v2.log'))) > 0, 'the edit is journaled');
      clients.destroyAll();
      await waitFor(async () => (await readdir(folder)).includes('snapshot-3.bin'), 'the second checkpoint after the load');
      await waitFor(async () => !(await readdir(folder)).includes('journal-1.v2.log'), 'the journals the previous snapshot covers are pruned');
      assert.deepEqual(await readFile(join(folder, 'damaged-journal-1.v2.log')), written, 'the damaged bytes are kept, unchanged');
    } finally {
      clients.destroyAll();
      assert.equal(await second.stop(), 0);
    }
  });

  /** Sets `key` from a fresh client, then lets the room empty so it checkpoints. */
  async function editAndLeave(url: string, room: string, key: string, checkpointed: () => Promise<boolean>): Promise<void> {
    const writer = clients.open(url, room);
    await writer.synced();
    writer.doc.getMap('m').set(key, key);
    // The update is sent before the close frame, on the same socket: the server applies it first.
    clients.destroyAll();
    await waitFor(checkpointed, `the checkpoint after ${key}`);
  }

  it('loads the previous snapshot generation and the journals after it when the newest snapshot is damaged', async () => {
    const room = 'generations';
    const folder = join(dataDirectory, roomFileName(room));
    const has = (name: string) => async () => (await readdir(folder).catch((): string[] => [])).includes(name);
    const first = await startSymphony({ store: new FileStore({ directory: dataDirectory }), unloadGraceMs: 60_000 });
    try {
      await editAndLeave(first.url, room, 'one', has('snapshot-1.bin'));
      await editAndLeave(first.url, room, 'two', has('snapshot-2.bin'));
      const writer = clients.open(first.url, room);
      await writer.synced();
      writer.doc.getMap('m').set('three', 'three');
      await waitFor(async () => (await sizeOf(join(folder, 'journal-3.v2.log'))) > 0, 'the last edit is journaled');
      clients.destroyAll();
    } finally {
      await first.close();
    }
    // Shutdown checkpointed generation 3; 2 and the journal after it stay as the fallback.
    assert.deepEqual(await documentFiles(folder), ['journal-3.v2.log', 'snapshot-2.bin', 'snapshot-3.bin']);
    const newest = await readFile(join(folder, 'snapshot-3.bin'));
    newest[Math.floor(newest.length / 2)] ^= 0x04;
    await writeFile(join(folder, 'snapshot-3.bin'), newest);

    const lines: string[] = [];
    const second = await startDashboardServer('express', {
      symphony: { store: new FileStore({ directory: dataDirectory }), logger: createJsonLogger({ write: (line) => lines.push(line) }) },
    });
    try {
      const reader = clients.open(second.collabUrl, room);
      await reader.synced();
      assert.deepEqual(reader.doc.getMap('m').toJSON(), { one: 'one', two: 'two', three: 'three' });
      const info = second.symphony.room(room)!;
      assert.equal(info.damaged, true);
      assert.deepEqual(info.storageDamage.map((damage) => damage.kind), ['snapshot']);
      assert.ok(lines.some((line) => line.includes('"level":50') && line.includes('room served from damaged storage')), lines.join(''));
      const details = (await (await fetch(`${second.origin}/admin/api/rooms/${room}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { room: { damaged: boolean } };
      assert.equal(details.room.damaged, true);
      assert.equal(second.symphony.stats().roomsDamaged, 1);
      // Without a new edit, the damaged room is checkpointed when it empties.
      clients.destroyAll();
      await waitFor(async () => (await readdir(folder)).includes('snapshot-4.bin'), 'a checkpoint of the intact state');
    } finally {
      clients.destroyAll();
      await second.close();
    }
    const files = await readdir(folder);
    assert.ok(files.includes('damaged-snapshot-3.bin'), `the damaged snapshot is kept aside: ${files.join(', ')}`);
    assert.deepEqual(await readFile(join(folder, 'damaged-snapshot-3.bin')), newest);

    const third = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    try {
      const reader = clients.open(third.url, room);
      await reader.synced();
      assert.deepEqual(reader.doc.getMap('m').toJSON(), { one: 'one', two: 'two', three: 'three' });
      assert.equal(third.symphony.room(room)?.damaged, false, 'the next load is clean');
    } finally {
      clients.destroyAll();
      await third.close();
    }
  });

  it('passes over a newest snapshot whose checksum holds but whose state Yjs cannot parse', async () => {
    const room = 'unparseable';
    const store = new FileStore({ directory: dataDirectory });
    await store.store(room, update((doc) => doc.getMap('m').set('kept', true)));
    await store.store(room, update((doc) => doc.getMap('m').set('kept', true)));
    const folder = join(dataDirectory, roomFileName(room));
    // Framed correctly, so only parsing the state can tell: what a bug at write time would leave.
    await writeFile(join(folder, 'snapshot-9.bin'), encodeRecords([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])]).subarray(0));
    const server = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    try {
      const reader = clients.open(server.url, room);
      await reader.synced();
      assert.deepEqual(reader.doc.getMap('m').toJSON(), { kept: true });
      assert.equal(server.symphony.room(room)?.damaged, true);
    } finally {
      clients.destroyAll();
      await server.close();
    }
  });

  it('still refuses a room whose only snapshot is damaged, and leaves its bytes in place', async () => {
    const room = 'no-fallback';
    const store = new FileStore({ directory: dataDirectory });
    await store.store(room, update((doc) => doc.getMap('m').set('k', 1)));
    const snapshot = join(dataDirectory, roomFileName(room), 'snapshot-1.bin');
    const damaged = await readFile(snapshot);
    damaged[damaged.length - 1] ^= 0xff;
    await writeFile(snapshot, damaged);
    const server = await startSymphony({ store: new FileStore({ directory: dataDirectory }) });
    try {
      assert.equal(await upgradeStatus(`${server.url}/${room}`), 503);
    } finally {
      await server.close();
    }
    assert.deepEqual(await readFile(snapshot), damaged);
  });

  it('loads rooms stored in the format before generations, and migrates them at the next checkpoints', async () => {
    const room = 'legacy';
    const folder = join(dataDirectory, roomFileName(room));
    await mkdir(folder, { recursive: true });
    const base = new Y.Doc();
    base.getMap('m').set('snapshot', 1);
    await writeFile(join(folder, 'snapshot.bin'), Y.encodeStateAsUpdate(base));
    const later = update((doc) => doc.getMap('m').set('journal', 2));
    const header = Buffer.alloc(8);
    header.writeUInt32LE(later.byteLength, 0);
    header.writeUInt32LE(crc32(later), 4);
    await writeFile(join(folder, 'journal-4.log'), Buffer.concat([header, later]));

    const server = await startSymphony({ store: new FileStore({ directory: dataDirectory }), unloadGraceMs: 60_000 });
    try {
      const reader = clients.open(server.url, room);
      await reader.synced();
      assert.deepEqual(reader.doc.getMap('m').toJSON(), { snapshot: 1, journal: 2 });
      assert.equal(server.symphony.room(room)?.damaged, false);
      clients.destroyAll();
      const has = (name: string) => async () => (await readdir(folder)).includes(name);
      await editAndLeave(server.url, room, 'a', has('snapshot-5.bin'));
      // The legacy snapshot is the previous generation until a second checkpoint.
      assert.ok((await readdir(folder)).includes('snapshot.bin'));
      await editAndLeave(server.url, room, 'b', has('snapshot-6.bin'));
      await waitFor(async () => !(await readdir(folder)).includes('snapshot.bin'), 'the legacy files are pruned');
      assert.deepEqual(await documentFiles(folder), ['journal-6.v2.log', 'snapshot-5.bin', 'snapshot-6.bin']);
    } finally {
      clients.destroyAll();
      await server.close();
    }
  });

  it('throws a ConfigurationError for a journal retry interval out of range', () => {
    for (const maxJournalRetryIntervalMs of [10, 120_000, Number.NaN]) {
      assert.throws(() => new FileStore({ directory: dataDirectory, maxJournalRetryIntervalMs }), {
        name: 'ConfigurationError',
        message: 'FileStore "maxJournalRetryIntervalMs" must be between 50 and 60000',
      });
    }
  });

  it('removes temporary files of interrupted checkpoints when it loads a room', async () => {
    const store = new FileStore({ directory: dataDirectory });
    await store.store('mid-checkpoint', update((doc) => doc.getMap('m').set('k', 'v')));
    const folder = join(dataDirectory, roomFileName('mid-checkpoint'));
    await writeFile(join(folder, 'snapshot-2.bin.abc.tmp'), Buffer.from('half a snapshot'));
    await writeFile(join(folder, 'snapshot.bin.def.tmp'), Buffer.from('half a legacy snapshot'));
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, (await new FileStore({ directory: dataDirectory }).load('mid-checkpoint'))!);
    assert.equal(reloaded.getMap('m').get('k'), 'v');
    assert.deepEqual(await documentFiles(folder), ['snapshot-1.bin']);
  });

  it('keeps no entry in memory for rooms read through the dashboard that are not loaded', async () => {
    const store = new FileStore({ directory: dataDirectory });
    const server = await startDashboardServer('express', { symphony: { store } });
    try {
      const writer = clients.open(server.collabUrl, 'present');
      await writer.synced();
      writer.doc.getMap('m').set('k', 1);
      assert.equal(store.roomsInMemory, 1, 'the loaded room');
      const headers = { authorization: `Bearer ${TOKEN}` };
      for (let index = 0; index < 1_000; index++) {
        const answer = await fetch(`${server.origin}/admin/api/rooms/missing-${index}`, { headers });
        assert.equal(answer.status, 404);
        await answer.body?.cancel();
      }
      assert.equal(store.roomsInMemory, 1);
      clients.destroyAll();
      await waitFor(() => server.symphony.room('present') === undefined, 'the room unloads');
      assert.equal(store.roomsInMemory, 0);
      assert.deepEqual((await (await fetch(`${server.origin}/admin/api/rooms/present/document`, { headers })).json()) as unknown, { room: 'present', loaded: false, document: { m: { k: 1 } } });
      assert.equal(store.roomsInMemory, 0, 'reading a stored room leaves nothing behind either');
    } finally {
      clients.destroyAll();
      await server.close();
    }
  });
});
