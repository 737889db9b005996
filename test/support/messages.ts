import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { awarenessFrame, syncStep1Frame, syncUpdateFrame } from '../../lib/core/protocol/frames.js';
import { messageAwareness } from '../../lib/core/protocol/message-types.js';

/** Well-formed y-websocket messages, built with Yjs itself, for protocol-level tests. */
export function updateMessage(change: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc();
  let update: Uint8Array | null = null;
  doc.on('update', (u: Uint8Array) => {
    update = u;
  });
  change(doc);
  doc.destroy();
  if (!update) throw new Error('the change produced no update');
  return syncUpdateFrame(update);
}

export function stepOneMessage(): Uint8Array {
  return syncStep1Frame(Y.encodeStateVector(new Y.Doc()));
}

export function awarenessMessage(state: object): Uint8Array {
  const doc = new Y.Doc();
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(state);
  const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]);
  awareness.destroy();
  doc.destroy();
  return awarenessFrame(update);
}

/** One entry of a hand-made awareness update: `state` is sent as is, so it may be anything but JSON. */
export interface RawAwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  readonly state: string;
}

/** An awareness message with exactly the given entries, as an attacker would craft it. */
export function rawAwarenessMessage(entries: readonly RawAwarenessEntry[]): Uint8Array {
  return awarenessFrame(rawAwarenessUpdate(entries));
}

/** The awareness update (the payload of an awareness message) with exactly the given entries. */
export function rawAwarenessUpdate(entries: readonly RawAwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const { clientId, clock, state } of entries) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock);
    encoding.writeVarString(encoder, state);
  }
  return encoding.toUint8Array(encoder);
}

/** The (client id, clock, state) entries of a received awareness message, or null for any other message. */
export function readAwarenessMessage(message: Uint8Array): RawAwarenessEntry[] | null {
  const decoder = decoding.createDecoder(message);
  if (decoding.readVarUint(decoder) !== messageAwareness) return null;
  const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
  const count = decoding.readVarUint(update);
  const entries: RawAwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(update), clock: decoding.readVarUint(update), state: decoding.readVarString(update) });
  }
  return entries;
}
