import assert from 'node:assert/strict';
import * as decoding from 'lib0/decoding';
import type { AnyEncodable } from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { CloseCode } from '../../lib/index.js';
import { syncUpdateFrame } from '../../lib/core/protocol/frames.js';
import { ClientPool, rawClient } from '../support/clients.js';
import { craftUpdate, nestedMapsUpdate, type CraftedItem, type StructId } from '../support/crafted-updates.js';
import { awarenessMessage, stepOneMessage, updateMessage } from '../support/messages.js';
import { RecordingStore } from '../support/recording-store.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(message: Uint8Array, next: () => number): Uint8Array {
  const bytes = Uint8Array.from(message);
  switch (Math.floor(next() * 4)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + next() * 4; i++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, Math.floor(next() * bytes.length));
    case 2: // garbage appended to a valid prefix
      return Uint8Array.from([...bytes.subarray(0, Math.floor(next() * bytes.length)), ...Array.from({ length: 1 + next() * 32 }, () => Math.floor(next() * 256))]);
    default: // random bytes
      return Uint8Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256));
  }
}

/**
 * Well-formed updates a stock client would never send: references to structs that do not exist
 * or that the sender cannot have seen, nesting beyond the limit, deletions of unknown structs,
 * values nested deeper than the stack likes. Clients and clocks come from small ranges, so these
 * collide with each other and with what earlier ones created.
 */
function hostileUpdate(next: () => number): Uint8Array {
  const pick = (n: number): number => Math.floor(next() * n);
  const client = 1 + pick(6);
  const clock = pick(40);
  const someId = (): StructId => ({ client: 1 + pick(6), clock: pick(60) });
  switch (pick(6)) {
    case 0: // items placed by neighbours that may or may not exist
      return craftUpdate(
        client,
        clock,
        Array.from({ length: 1 + pick(8) }, (): CraftedItem => (next() < 0.5 ? { origin: someId(), content: { kind: 'string', text: 'o' } } : { rightOrigin: someId(), content: { kind: 'string', text: 'r' } })),
      );
    case 1: // shared types inside whatever a random id names
      return craftUpdate(client, clock, [{ parent: { type: someId() }, parentSub: next() < 0.5 ? 'k' : undefined, content: { kind: next() < 0.5 ? 'map' : 'array' } }]);
    case 2: // nesting around the limit
      return nestedMapsUpdate(100 + pick(100), 100 + pick(80), `deep-${pick(3)}`);
    case 3: // deletions of ranges that may not exist
      return Uint8Array.of(0, 1, client, 1, pick(80), 1 + pick(20));
    case 4: {
      // values nested around the limit
      let value: AnyEncodable = [];
      for (let depth = 100 + pick(80); depth > 0; depth--) value = [value];
      return craftUpdate(client, clock, [{ parent: { key: 'values' }, content: { kind: 'any', values: [value] } }]);
    }
    default: // top-level items under many keys
      return craftUpdate(client, clock, [{ parent: { key: `k${pick(1_000)}` }, content: { kind: 'string', text: 'x'.repeat(pick(100)) } }]);
  }
}

/** The update a message carries if it is a sync step 2 or update message, as the server reads it. */
function updateCarriedBy(message: Uint8Array): Uint8Array | null {
  try {
    const decoder = decoding.createDecoder(message);
    if (decoding.readVarUint(decoder) !== 0) return null;
    const subType = decoding.readVarUint(decoder);
    return subType === 1 || subType === 2 ? decoding.readVarUint8Array(decoder) : null;
  } catch {
    return null;
  }
}

/** An update the server applied; `pendingDropped` when it then dropped what waited for missing data (4524). */
interface Applied {
  readonly update: Uint8Array;
  readonly pendingDropped: boolean;
}

function docOf(applied: readonly Applied[]): Y.Doc {
  const doc = new Y.Doc();
  for (const { update, pendingDropped } of applied) {
    Y.applyUpdate(doc, update);
    if (pendingDropped) {
      doc.store.pendingStructs = null;
      doc.store.pendingDs = null;
    }
  }
  return doc;
}

describe('fuzzing with random, mutated and hostile messages', () => {
  let server: RunningSymphony;
  const store = new RecordingStore();
  const clients = new ClientPool();

  before(async () => {
    server = await startSymphony({ store, limits: { maxMessageBytes: 64 * 1024 } });
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('never crashes the server, never journals a refused update, and a calm room sees every one of its updates', async function () {
    // About 20 s on two idle cores; most of it is the 12,000 handshakes of attackers the server closed.
    this.timeout(120_000);
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const writer = clients.open(server.url, 'calm');
    const reader = clients.open(server.url, 'calm');
    await Promise.all([writer.synced(), reader.synced()]);
    let calmCloses = 0;
    for (const client of [writer, reader]) client.provider.on('connection-close', () => calmCloses++);

    const valid = [
      stepOneMessage(),
      updateMessage((doc) => doc.getMap('shapes').set('s', { x: 1, y: 2 })),
      updateMessage((doc) => doc.getText('t').insert(0, 'hello')),
      updateMessage((doc) => {
        doc.getText('t').insert(0, 'bold and plain');
        doc.getText('t').format(0, 4, { bold: true });
        doc.getText('t').delete(5, 3);
      }),
      updateMessage((doc) => doc.getXmlFragment('x').insert(0, [new Y.XmlElement('p'), new Y.XmlText('text')])),
      updateMessage((doc) => {
        const shape = new Y.Map<unknown>();
        doc.getMap('shapes').set('nested', shape);
        shape.set('points', new Y.Array());
      }),
      awarenessMessage({ user: 'fuzz', cursor: { x: 3, y: 4 } }),
    ];
    const total = 20_000;
    const rooms = Array.from({ length: 10 }, (_, i) => `fuzz-${i}`);
    /** Per room, the updates of messages the server accepted, in order: the journal must hold exactly these. */
    const acceptedUpdates = new Map<string, Applied[]>(rooms.map((room) => [room, []]));
    const closeCodes = new Map<number, number>();
    // An observer keeps each room loaded between attackers (and sees what is relayed).
    const observers = await Promise.all(rooms.map((room) => rawClient(`${server.url}/${room}`)));
    let written = 0;

    /** One attacker after another in `room`, each sending messages until the server closes it. */
    async function attack(room: string, count: number, next: () => number): Promise<void> {
      let sent = 0;
      while (sent < count) {
        const socket = new WebSocket(`${server.url}/${room}`);
        let closeCode: number | null = null;
        const closed = new Promise<void>((resolve) =>
          socket.on('close', (code) => {
            closeCode = code;
            resolve();
          }),
        );
        socket.on('error', () => undefined);
        await Promise.race([new Promise((resolve) => socket.once('open', resolve)), closed]);
        for (let i = 0; i < 50 && sent < count && closeCode === null; i++, sent++) {
          const roll = next();
          const base = valid[Math.floor(next() * valid.length)];
          const message = roll < 0.15 ? base : roll < 0.45 ? syncUpdateFrame(hostileUpdate(next)) : roll < 0.55 ? mutate(syncUpdateFrame(hostileUpdate(next)), next) : mutate(base, next);
          socket.send(message);
          // The server answers a ping only after it handled every message before it.
          await Promise.race([new Promise((resolve) => socket.once('pong', resolve).ping()), closed]);
          // Meanwhile the calm room keeps working.
          if (sent % 50 === 0) writer.doc.getArray('log').push([written++]);
          const update = updateCarriedBy(message);
          if (update === null) continue;
          if (closeCode === null) acceptedUpdates.get(room)!.push({ update, pendingDropped: false });
          // Applied, then what waited for missing data was dropped (see maxPendingBytes).
          else if (closeCode === CloseCode.missingDependencies) acceptedUpdates.get(room)!.push({ update, pendingDropped: true });
        }
        socket.close();
        await closed;
        closeCodes.set(closeCode!, (closeCodes.get(closeCode!) ?? 0) + 1);
      }
    }

    // Rooms are attacked side by side; within a room one attacker at a time, so every refusal is attributable.
    await Promise.all(rooms.map((room, index) => attack(room, total / rooms.length, random(seed * rooms.length + index))));
    await waitFor(() => reader.doc.getArray('log').length === written, `the reader received all ${written} updates (seed ${seed})`, 10_000);
    assert.deepEqual(reader.doc.getArray('log').toArray(), [...Array(written).keys()]);
    assert.equal(calmCloses, 0, 'the calm room was never disturbed');
    assert.ok((closeCodes.get(CloseCode.protocolError) ?? 0) > 0, `malformed messages closed their connections with 1002 (${JSON.stringify([...closeCodes])})`);
    assert.ok((closeCodes.get(CloseCode.nestingTooDeep) ?? 0) > 0, 'deep nesting was refused with 4422');
    assert.equal(closeCodes.get(CloseCode.internalError), undefined, `no update got past the checks and broke a room (seed ${seed})`);
    assert.equal(server.symphony.accepting, true);

    for (const observer of observers) observer.socket.close();
    for (const room of rooms) {
      const journaled = docOf(store.appendsOf(room).map((update) => ({ update, pendingDropped: false })));
      const replayed = docOf(acceptedUpdates.get(room)!);
      assert.ok(Y.equalSnapshots(Y.snapshot(journaled), Y.snapshot(replayed)), `room ${room}: the journal holds exactly the accepted updates (seed ${seed})`);
      journaled.destroy();
      replayed.destroy();
    }
  });
});
