import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import * as Y from 'yjs';
import { CloseCode, UpdateRejectedError } from '../../../lib/index.js';
import { syncUpdateFrame } from '../../../lib/core/protocol/frames.js';
import { rawClient, type StockClient } from '../../support/clients.js';
import { fileStoreServers } from '../../support/file-store-servers.js';
import { waitFor } from '../../support/wait-for.js';
import { nestedMapsUpdate } from '../../support/crafted-updates.js';

/** The close codes a stock client saw; it is destroyed on 4410, as an app honouring the code would do. */
function closeCodes(client: StockClient): number[] {
  const codes: number[] = [];
  client.provider.on('connection-close', (event) => {
    if (!event) return;
    codes.push(event.code);
    if (event.code === CloseCode.roomDeleted) client.provider.disconnect();
  });
  return codes;
}

function updateOf(change: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc();
  change(doc);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

describe('the documents API: restore, delete, apply and read updates, stored rooms', () => {
  const { clients, start, directory } = fileStoreServers('symphony-documents-');

  it('restores a version as a forward change: live clients converge, the restore can be undone, no history is erased', async () => {
    const { symphony, url } = await start();
    const alice = clients.open(url, 'story');
    const bob = clients.open(url, 'story');
    await Promise.all([alice.synced(), bob.synced()]);
    alice.doc.transact(() => {
      alice.doc.getText('title').insert(0, 'Draft');
      alice.doc.getMap('meta').set('status', 'draft');
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [new Y.XmlText('Once upon a time')]);
      alice.doc.getXmlFragment('body').insert(0, [paragraph]);
    });
    await waitFor(() => bob.doc.getText('title').toString() === 'Draft', 'bob has the draft');
    const draft = await symphony.createVersion('story', { name: 'draft' });
    const draftJSON = await symphony.toJSON('story');

    bob.doc.transact(() => {
      bob.doc.getText('title').insert(5, ' two');
      bob.doc.getMap('meta').set('status', 'review');
      bob.doc.getArray('comments').push(['nice']);
      ((bob.doc.getXmlFragment('body').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(16, ', there was');
    });
    await waitFor(() => alice.doc.getMap('meta').get('status') === 'review', 'alice has the later edits');
    const beforeRestore = await symphony.toJSON('story');
    const stateVectorBefore = Y.decodeStateVector(Y.encodeStateVector(alice.doc));

    // Alice's editor tracks remote changes too, so the restore is on her undo stack.
    const undo = new Y.UndoManager([alice.doc.getText('title'), alice.doc.getMap('meta'), alice.doc.getArray('comments'), alice.doc.getXmlFragment('body')], {
      trackedOrigins: new Set([alice.provider]),
    });
    const restored = await symphony.restoreVersion('story', draft.id, { restoredBy: 'carol' });
    assert.equal(restored?.id, draft.id);
    const expected = { ...draftJSON, comments: [] };
    assert.deepEqual(await symphony.toJSON('story'), expected);
    await waitFor(() => alice.doc.getText('title').toString() === 'Draft' && bob.doc.getText('title').toString() === 'Draft', 'both clients converge to the version');
    assert.equal(bob.doc.getMap('meta').get('status'), 'draft');
    assert.equal(alice.doc.getXmlFragment('body').toString(), '<paragraph>Once upon a time</paragraph>');
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(alice.doc))) {
      assert.ok(clock >= (stateVectorBefore.get(client) ?? 0), 'the restore only adds to the history');
    }

    undo.undo();
    await waitFor(() => bob.doc.getMap('meta').get('status') === 'review', 'undoing the restore reaches bob');
    await waitFor(async () => isDeepStrictEqual(await symphony.toJSON('story'), beforeRestore), 'the server is back to the edits');
    undo.destroy();
    assert.equal(await symphony.restoreVersion('story', '000000000-00000000'), null);
  });

  it('deletes a room: clients are closed with 4410, nothing is left on disk, and the room is empty afterwards', async () => {
    const { symphony, url } = await start();
    const deleted: string[] = [];
    symphony.events.on('roomDeleted', ({ room }) => deleted.push(room));
    const alice = clients.open(url, 'doomed');
    const bob = clients.open(url, 'doomed');
    const codes = [closeCodes(alice), closeCodes(bob)];
    await Promise.all([alice.synced(), bob.synced()]);
    alice.doc.getMap('m').set('secret', 42);
    await waitFor(async () => (await symphony.listVersions('doomed')).length === 1, 'an automatic version');
    await symphony.createVersion('doomed', { name: 'named' });
    const other = clients.open(url, 'survivor');
    await other.synced();
    other.doc.getText('t').insert(0, 'still here');
    await waitFor(async () => (await symphony.storedRooms({ limit: 10 })).rooms.length === 2, 'both rooms are stored');

    assert.equal(await symphony.deleteRoom('doomed'), true);
    await waitFor(() => codes.every((seen) => seen.includes(CloseCode.roomDeleted)), 'both clients are closed with 4410');
    assert.deepEqual(deleted, ['doomed']);
    assert.equal(symphony.room('doomed'), undefined);
    assert.deepEqual((await readdir(directory())).filter((name) => name.startsWith('doomed-')), [], 'no folder is left');
    assert.deepEqual(await symphony.listVersions('doomed'), []);
    assert.equal(await symphony.readState('doomed'), null);
    assert.deepEqual((await symphony.storedRooms({ limit: 10 })).rooms, ['survivor']);

    const newcomer = clients.open(url, 'doomed');
    await newcomer.synced();
    assert.deepEqual(newcomer.doc.getMap('m').toJSON(), {});
    assert.equal(other.provider.wsconnected, true, 'other rooms carry on');
    assert.equal(await symphony.deleteRoom('never-existed'), false);
  });

  it('applies an update from host code like a client’s: relayed, persisted, and refused for what a client is refused for', async () => {
    const { symphony, url } = await start({ limits: { maxDocumentBytes: 2_000, maxMessageBytes: 8_000 } });
    const alice = clients.open(url, 'api');
    await alice.synced();
    const seen: string[] = [];
    symphony.events.on('documentUpdated', ({ origin }) => seen.push(origin.kind === 'server' ? `server:${origin.reason}` : origin.kind));
    await symphony.applyUpdate('api', updateOf((doc) => doc.getMap('shapes').set('s1', 'rect')), { reason: 'import' });
    await waitFor(() => alice.doc.getMap('shapes').get('s1') === 'rect', 'the client receives the update');
    assert.deepEqual(seen, ['server:import']);

    const malformed = new Uint8Array([1, 2, 3]);
    await assert.rejects(symphony.applyUpdate('api', malformed), (error: unknown) => {
      assert.ok(error instanceof UpdateRejectedError);
      assert.equal(error.code, 'SYMPHONY_ERR_MALFORMED_UPDATE');
      assert.equal(error.status, 400);
      assert.equal(error.room, 'api');
      return true;
    });
    const huge = updateOf((doc) => doc.getText('t').insert(0, 'x'.repeat(4_000)));
    await assert.rejects(symphony.applyUpdate('api', huge), (error: unknown) => {
      assert.ok(error instanceof UpdateRejectedError);
      assert.equal(error.code, 'SYMPHONY_ERR_DOCUMENT_TOO_LARGE');
      assert.equal(error.status, 413);
      return true;
    });
    const hugest = updateOf((doc) => doc.getText('t').insert(0, 'x'.repeat(10_000)));
    await assert.rejects(symphony.applyUpdate('api', hugest), (error: unknown) => {
      assert.ok(error instanceof UpdateRejectedError);
      assert.equal(error.code, 'SYMPHONY_ERR_UPDATE_TOO_LARGE');
      assert.equal(error.status, 413);
      return true;
    });
    // Deeper than limits.maxNestingDepth (128), yet small enough for the byte limits above.
    const abyss = nestedMapsUpdate(4242, 135);
    await assert.rejects(symphony.applyUpdate('api', abyss), (error: unknown) => {
      assert.ok(error instanceof UpdateRejectedError);
      assert.equal(error.code, 'SYMPHONY_ERR_NESTING_TOO_DEEP');
      assert.equal(error.status, 400);
      return true;
    });
    // The same bytes from a client close that client, with the codes the README documents.
    for (const [update, code] of [
      [malformed, CloseCode.protocolError],
      [huge, CloseCode.documentTooLarge],
      [hugest, CloseCode.messageTooBig],
      [abyss, CloseCode.nestingTooDeep],
    ] as const) {
      const raw = await rawClient(`${url}/api`);
      raw.socket.send(syncUpdateFrame(update));
      assert.equal((await raw.closed).code, code);
    }
    assert.equal(alice.provider.wsconnected, true);
    assert.deepEqual(await symphony.toJSON('api'), { shapes: { s1: 'rect' } });

    // A room nobody has open is loaded, changed and saved.
    await symphony.applyUpdate('cold', updateOf((doc) => doc.getArray('a').push([1])));
    await waitFor(() => symphony.room('cold') === undefined, 'the cold room unloads');
    assert.deepEqual(await symphony.toJSON('cold'), { a: [1] });
  });

  it('reads only what a state vector lacks, from memory and from the store', async () => {
    const { symphony, url } = await start();
    const alice = clients.open(url, 'diff');
    await alice.synced();
    alice.doc.getText('t').insert(0, 'known');
    const reader = new Y.Doc();
    await waitFor(async () => {
      const state = await symphony.readState('diff');
      return state !== null && (Y.applyUpdate(reader, state), reader.getText('t').toString() === 'known');
    }, 'the reader has the first edit');
    alice.doc.getText('t').insert(5, ' and new');
    for (const where of ['memory', 'store']) {
      if (where === 'store') {
        clients.destroyAll();
        await waitFor(() => symphony.room('diff') === undefined, 'the room unloads');
      } else {
        await waitFor(async () => (await symphony.toJSON('diff'))?.t === 'known and new', 'the server has the second edit');
      }
      const missing = (await symphony.readState('diff', { stateVector: Y.encodeStateVector(reader) }))!;
      assert.ok(missing.byteLength < (await symphony.readState('diff'))!.byteLength, `the diff from ${where} is smaller than the whole`);
      const copy = new Y.Doc();
      Y.applyUpdate(copy, Y.encodeStateAsUpdate(reader));
      Y.applyUpdate(copy, missing);
      assert.equal(copy.getText('t').toString(), 'known and new');
    }
  });

  it('lists stored rooms after a restart, by prefix and page', async () => {
    const first = await start();
    for (const room of ['team-b', 'team-a', 'other', 'team-c']) await first.symphony.change(room, (doc) => doc.getMap('m').set('k', room));
    await first.close();
    const { symphony } = await start();
    assert.deepEqual(await symphony.storedRooms({ prefix: 'team-', limit: 2 }), { rooms: ['team-a', 'team-b'], next: 'team-b' });
    assert.deepEqual(await symphony.storedRooms({ prefix: 'team-', after: 'team-b', limit: 2 }), { rooms: ['team-c'], next: null });
    assert.deepEqual((await symphony.storedRooms({ limit: 10 })).rooms, ['other', 'team-a', 'team-b', 'team-c']);
  });
});
