import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRecords } from '../../lib/core/storage/journal-records.js';
import { roomFileName } from '../../lib/core/storage/room-file-name.js';
import { FileStore, StorageUnavailableError, type ShutdownReport } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';
import { startSymphony } from '../support/symphony-server.js';
import { createSmallDisk, smallDisksAvailable, type SmallDisk } from '../support/small-disk.js';
import { waitFor } from '../support/wait-for.js';

const ADMIN_TOKEN = 'disk-full-admin-token-0123456789';
/** Larger than a page: a write of it needs a new page, which a full tmpfs refuses. */
const EDIT_CHARS = 6_000;

function edit(label: string): string {
  return `${label}:${'x'.repeat(EDIT_CHARS)}|`;
}

async function metric(server: ExampleProcess, name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/admin/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  const line = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  if (!line) throw new Error(`no ${name} in the metrics`);
  return Number(line[1]);
}

async function journaledBytes(folder: string): Promise<number> {
  const names = await readdir(folder).catch((): string[] => []);
  let total = 0;
  for (const name of names) if (/^journal-\d+\.v2\.log$/.test(name)) total += (await stat(join(folder, name))).size;
  return total;
}

describe('a full disk', function () {
  // Two example processes start per test; on a busy machine each start takes seconds.
  this.timeout(60_000);
  const clients = new ClientPool();
  let disk: SmallDisk | null = null;
  const servers: ExampleProcess[] = [];

  before(function () {
    // Mounting a tmpfs in a private namespace needs root.
    if (!smallDisksAvailable) this.skip();
  });

  beforeEach(async () => {
    disk = await createSmallDisk();
  });

  afterEach(async () => {
    clients.destroyAll();
    for (const server of servers.splice(0)) await server.kill();
    await disk?.close();
    disk = null;
  });

  async function startServer(): Promise<ExampleProcess> {
    const server = await startExample('express', { SYMPHONY_DATA_DIR: disk!.directory, SYMPHONY_ADMIN_TOKEN: ADMIN_TOKEN }, undefined, disk!.launcher);
    servers.push(server);
    return server;
  }

  it('refuses edits while the journal cannot be written, and loses none it accepted once space returns', async () => {
    const room = 'full';
    const folder = join(disk!.hostPath, roomFileName(room));
    const server = await startServer();
    const alice = clients.open(server.collabUrl, room);
    const witness = clients.open(server.collabUrl, room);
    await Promise.all([alice.synced(), witness.synced()]);
    const closes: number[] = [];
    for (const client of [alice, witness]) client.provider.on('connection-close', (event: CloseEvent | null) => closes.push(event?.code ?? 0));

    alice.doc.getText('body').insert(0, edit('first'));
    await waitFor(async () => (await journaledBytes(folder)) > EDIT_CHARS, 'the first edit is journaled');

    await disk!.fill();
    // Applied and relayed before its journal write fails: accepted, so it must survive.
    alice.doc.getText('body').insert(0, edit('second'));
    await waitFor(() => witness.doc.getText('body').toString().includes('second:'), 'the second edit is relayed');
    await waitFor(async () => (await metric(server, 'symphony_rooms_unwritable')) === 1, 'the metrics show the room cannot write');
    await waitFor(() => closes.filter((code) => code === 1013).length >= 2, 'both writers are closed with 1013');
    const details = (await (await fetch(`${server.baseUrl}/admin/api/rooms/${room}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { room: { writable: boolean } };
    assert.equal(details.room.writable, false);

    // Made while the room refuses: the client keeps it and sends it again after each reconnect.
    alice.doc.getText('body').insert(0, edit('third'));
    await waitFor(async () => (await metric(server, 'symphony_updates_refused_unwritable_total')) >= 1, 'the third edit is refused', 10_000);
    assert.ok(!witness.doc.getText('body').toString().includes('third:'), 'a refused edit is not relayed');

    await disk!.free();
    await waitFor(async () => (await metric(server, 'symphony_rooms_unwritable')) === 0, 'the room writes again without a restart', 10_000);
    await waitFor(() => witness.doc.getText('body').toString().includes('third:'), 'the client resent the refused edit', 15_000);
    await waitFor(async () => (await journaledBytes(folder)) > 3 * EDIT_CHARS, 'every edit is journaled');
    for (const name of (await readdir(folder)).filter((file) => file.startsWith('journal-'))) {
      const decoded = decodeRecords(await readFile(join(folder, name)));
      assert.deepEqual([decoded.damagedBytes, decoded.tornBytes], [0, 0], `${name}: the partial record of the failed write was cut off`);
    }
    await server.kill();
    clients.destroyAll();

    const restarted = await startServer();
    const reader = clients.open(restarted.collabUrl, room);
    await reader.synced();
    const text = reader.doc.getText('body').toString();
    for (const label of ['first', 'second', 'third']) assert.ok(text.includes(`${label}:`), `${label} survived the restart`);
    const details2 = (await (await fetch(`${restarted.baseUrl}/admin/api/rooms/${room}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { room: { damaged: boolean } };
    assert.equal(details2.room.damaged, false, 'the partial record of the failed write was cut off, not left for the next load to trip on');
    assert.deepEqual((await readdir(folder)).filter((name) => name.endsWith('.tmp')), [], 'no temporary file of a failed checkpoint is left');
    clients.destroyAll();
    assert.equal(await restarted.stop(), 0);
  });

  it('exits non-zero from a graceful shutdown that could not store a room, and names it', async () => {
    const room = 'full-at-exit';
    const folder = join(disk!.hostPath, roomFileName(room));
    const server = await startServer();
    const alice = clients.open(server.collabUrl, room);
    const witness = clients.open(server.collabUrl, room);
    await Promise.all([alice.synced(), witness.synced()]);
    alice.doc.getText('body').insert(0, edit('first'));
    await waitFor(async () => (await journaledBytes(folder)) > EDIT_CHARS, 'the first edit is journaled');
    await disk!.fill();
    alice.doc.getText('body').insert(0, edit('second'));
    await waitFor(() => witness.doc.getText('body').toString().includes('second:'), 'the second edit is relayed');
    await waitFor(async () => (await metric(server, 'symphony_rooms_unwritable')) === 1, 'the journal write failed');

    assert.equal(await server.stop(), 1);
    const entries = server
      .log()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; rooms?: string[] });
    const report = entries.find((entry) => entry.msg === 'stopped with changes that could not be stored');
    assert.deepEqual(report?.rooms, [room], server.log());
    assert.ok(!entries.some((entry) => entry.msg.includes('its journal keeps the changes')), 'no false reassurance in the log');
  });

  // In this process: its FileStore writes to the small disk through /proc/<holder>/root.
  for (const syncJournal of [false, true]) {
    it(`refuses server-side changes while the room cannot write, and keeps readers that have nothing to send (syncJournal: ${syncJournal})`, async () => {
      const room = 'full-in-process';
      const server = await startSymphony({ store: new FileStore({ directory: disk!.hostPath, syncJournal }) });
      try {
        const alice = clients.open(server.url, room);
        await alice.synced();
        alice.doc.getText('body').insert(0, edit('first'));
        await waitFor(async () => (await journaledBytes(join(disk!.hostPath, roomFileName(room)))) > EDIT_CHARS, 'the first edit is journaled');
        await disk!.fill();
        alice.doc.getText('body').insert(0, edit('second'));
        await waitFor(() => server.symphony.room(room)?.writable === false, 'the room cannot write');
        await assert.rejects(server.symphony.change(room, (doc) => doc.getMap('m').set('k', 1)), StorageUnavailableError);

        const reader = clients.open(server.url, room);
        await reader.synced();
        // Its sync step 2 (an empty update) arrives after its step 1, which the sync answered.
        await waitFor(() => server.symphony.connections(room).some((connection) => connection.messagesIn >= 2), 'the reader answered the sync');
        assert.equal(reader.provider.wsconnected, true, 'a client with nothing to write stays');
        assert.ok(reader.doc.getText('body').toString().includes('second:'));

        await disk!.free();
        await waitFor(() => server.symphony.room(room)?.writable === true, 'the room writes again', 10_000);
        await server.symphony.change(room, (doc) => doc.getMap('m').set('k', 1));
      } finally {
        clients.destroyAll();
        const report = await server.close();
        assert.deepEqual(report.unstoredRooms, []);
      }
      for (const name of (await readdir(join(disk!.hostPath, roomFileName(room)))).filter((file) => file.startsWith('journal-'))) {
        const decoded = decodeRecords(await readFile(join(disk!.hostPath, roomFileName(room), name)));
        assert.deepEqual([decoded.damagedBytes, decoded.tornBytes], [0, 0], `${name} holds complete records only`);
      }
    });
  }

  it('close() resolves to and emits the rooms whose changes it could not store', async () => {
    const room = 'unstored';
    const server = await startSymphony({ store: new FileStore({ directory: disk!.hostPath }) });
    const emitted: ShutdownReport[] = [];
    server.symphony.events.on('closed', (report) => emitted.push(report));
    const alice = clients.open(server.url, room);
    await alice.synced();
    alice.doc.getText('body').insert(0, edit('first'));
    await waitFor(async () => (await journaledBytes(join(disk!.hostPath, roomFileName(room)))) > EDIT_CHARS, 'the first edit is journaled');
    await disk!.fill();
    alice.doc.getText('body').insert(0, edit('second'));
    await waitFor(() => server.symphony.room(room)?.writable === false, 'the room cannot write');
    clients.destroyAll();
    const report = await server.close();
    assert.deepEqual(report.unstoredRooms, [room]);
    assert.deepEqual(emitted, [report]);
  });
});
