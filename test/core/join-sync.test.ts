import assert from 'node:assert/strict';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { syncStep1Frame } from '../../lib/core/protocol/frames.js';
import { messageSync, syncStep2 } from '../../lib/core/protocol/message-types.js';
import { CloseCode } from '../../lib/index.js';
import { ClientPool, rawClient, type RawClient } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

const CHUNK = 'j'.repeat(10_240);

/** Appends `chunks` inserts of 10 KB to the room's text "t", in one change (a change to an empty room saves it at once). */
async function growText(server: RunningSymphony, room: string, chunks: number): Promise<void> {
  await server.symphony.change(room, (doc) => {
    const text = doc.getText('t');
    for (let i = 0; i < chunks; i++) text.insert(text.length, CHUNK);
  });
}

/** The update carried by the first sync step 2 a raw client received, or null if none came yet. */
function receivedStepTwo(client: RawClient): Uint8Array | null {
  for (const message of client.received) {
    const decoder = decoding.createDecoder(message);
    if (decoding.readVarUint(decoder) !== messageSync || decoding.readVarUint(decoder) !== syncStep2) continue;
    return decoding.readVarUint8Array(decoder);
  }
  return null;
}

/** A raw joiner that announces `stateVector` (empty: it has nothing) and waits for the server's reply. */
async function joinWith(server: RunningSymphony, room: string, stateVector: Uint8Array): Promise<Uint8Array> {
  const client = await rawClient(`${server.url}/${room}`);
  client.socket.send(syncStep1Frame(stateVector));
  await waitFor(() => receivedStepTwo(client) !== null, `a sync step 2 in "${room}"`);
  client.socket.close();
  return receivedStepTwo(client)!;
}

function textOf(update: Uint8Array, base?: Y.Doc): string {
  const doc = new Y.Doc();
  if (base) Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  Y.applyUpdate(doc, update);
  const text = doc.getText('t').toString();
  doc.destroy();
  return text;
}

describe('joining a room with a large document', function () {
  this.timeout(60_000);
  let server: RunningSymphony;
  const clients = new ClientPool();
  const closes: { code: number; reason: string }[] = [];

  before(async () => {
    // 24 MB of text count 48 MB as UTF-16: more than the default content limit.
    server = await startSymphony({ limits: { maxBufferedBytes: 64 * 1024, maxDocumentContentBytes: 64 * 1024 * 1024 } });
    server.symphony.events.on('connectionClosed', (_connection, close) => closes.push(close));
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('brings 32 stock providers joining at once to the same multi-MB document', async () => {
    await growText(server, 'storm', 200);
    const joiners = Array.from({ length: 32 }, () => clients.open(server.url, 'storm'));
    await waitFor(() => joiners.every((joiner) => joiner.provider.synced), 'every joiner synced', 30_000);
    for (const joiner of joiners) assert.equal(joiner.doc.getText('t').length, 200 * CHUNK.length);
    // Still one document: an edit by one joiner reaches all the others.
    joiners[0].doc.getMap('m').set('after', 'storm');
    await waitFor(() => joiners.every((joiner) => joiner.doc.getMap('m').get('after') === 'storm'), 'every joiner sees a later edit');
  });

  it('sends a joiner that has part of the document only what it lacks', async () => {
    await growText(server, 'partial', 20);
    const known = new Y.Doc();
    Y.applyUpdate(known, await joinWith(server, 'partial', new Uint8Array([0])));
    await growText(server, 'partial', 3);
    const reply = await joinWith(server, 'partial', Y.encodeStateVector(known));
    const knownClocks = Y.decodeStateVector(Y.encodeStateVector(known));
    const { structs } = Y.decodeUpdate(reply);
    assert.ok(structs.length > 0, 'the reply carries the missing inserts');
    for (const struct of structs) {
      assert.ok(struct.id.clock >= (knownClocks.get(struct.id.client) ?? 0), `struct ${struct.id.client}:${struct.id.clock} was already known`);
    }
    assert.equal(textOf(reply, known), CHUNK.repeat(23));
    assert.ok(reply.byteLength < 4 * CHUNK.length, `the reply (${reply.byteLength} bytes) holds only the 3 missing chunks`);
    known.destroy();
  });

  it('gives joiners after an update the new version, not the one encoded for earlier joiners', async () => {
    await growText(server, 'versions', 10);
    const before = await joinWith(server, 'versions', new Uint8Array([0]));
    assert.equal(textOf(before).length, 10 * CHUNK.length);
    // A member stays, so the room (and whatever it keeps for joiners) stays loaded between joins.
    const member = clients.open(server.url, 'versions');
    await member.synced();
    await server.symphony.change('versions', (doc) => doc.getText('t').insert(0, 'new'));
    const after = await joinWith(server, 'versions', new Uint8Array([0]));
    assert.ok(textOf(after).startsWith('new'), 'a joiner after the update receives it');
    member.doc.getText('t').insert(0, 'x');
    await waitFor(async () => textOf(await joinWith(server, 'versions', new Uint8Array([0]))).startsWith('xnew'), 'a joiner after a client update receives it');
  });

  it('does not close a joiner still receiving its initial sync as a slow reader while another client edits', async () => {
    // 24 MB: more than the kernel's socket buffers take, so most of the reply waits in the server.
    await growText(server, 'slow-join', 2_400);
    const joiner = await rawClient(`${server.url}/slow-join`);
    const transport = (joiner.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    transport.pause();
    joiner.socket.send(syncStep1Frame(new Uint8Array([0])));
    const editor = clients.open(server.url, 'slow-join');
    const watcher = clients.open(server.url, 'slow-join');
    await Promise.all([editor.synced(), watcher.synced()]);
    // Each edit is relayed to the joiner too, while its reply still waits in the server.
    for (let i = 0; i < 5; i++) editor.doc.getMap('m').set('edit', i);
    await waitFor(() => watcher.doc.getMap('m').get('edit') === 4, `the edits were relayed (closes: ${JSON.stringify(closes)})`);
    transport.resume();
    await waitFor(() => receivedStepTwo(joiner) !== null, 'the joiner received its whole initial sync', 30_000);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, receivedStepTwo(joiner)!);
    assert.equal(doc.getText('t').length, 2_400 * CHUNK.length);
    doc.destroy();
    // Served still: a later edit reaches it (a client closed as a slow reader would get a close frame instead).
    const received = joiner.received.length;
    editor.doc.getMap('m').set('edit', 'after');
    await waitFor(() => joiner.received.length > received, 'the joiner receives a later edit', 10_000);
    assert.equal(joiner.socket.readyState, joiner.socket.OPEN, 'the joiner is still connected');
    assert.ok(!closes.some((close) => close.code === CloseCode.tryAgainLater), 'nobody was closed as a slow reader');
    joiner.socket.close();
  });
});
