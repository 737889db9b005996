import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { isJsonText } from './json-syntax.js';

/**
 * Awareness (presence) updates without JSON: Symphony relays presence as raw bytes.
 *
 * An awareness update is `varUint count`, then per client `varUint clientID, varUint clock,
 * varString stateJSON` (y-protocols/awareness). Presence is five times as frequent as document
 * updates, so the server only reads the client ids and clocks it needs to order and expire states,
 * and keeps each state as the exact bytes it received. A state's JSON syntax is checked (without
 * building the value) only when the entry is about to be accepted, never for the echoes stock
 * clients send back; JSON is parsed only when host code asks.
 */
export interface AwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  /** The entry as it appeared on the wire (clientID, clock and state), ready to be re-sent. */
  readonly bytes: Uint8Array;
  /** Offset of the state's UTF-8 JSON inside `bytes`. */
  readonly stateOffset: number;
  /** True when the state is `null`: the client went away. */
  readonly removed: boolean;
}

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c]; // "null"

/** Splits an awareness update into its entries. Throws on malformed or truncated input. */
export function readAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  // Each entry takes at least 3 bytes: a bound that stops a forged count from allocating.
  if (count > update.length) throw new RangeError(`awareness update claims ${count} entries in ${update.length} bytes`);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const start = decoder.pos;
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const stateLength = decoding.readVarUint(decoder);
    const stateOffset = decoder.pos - start;
    const end = decoder.pos + stateLength;
    if (end > update.length) throw new RangeError('awareness update is truncated');
    decoder.pos = end;
    const removed =
      stateLength === 4 &&
      update[end - 4] === NULL_JSON[0] &&
      update[end - 3] === NULL_JSON[1] &&
      update[end - 2] === NULL_JSON[2] &&
      update[end - 1] === NULL_JSON[3];
    entries.push({ clientId, clock, bytes: update.subarray(start, end), stateOffset, removed });
  }
  return entries;
}

/** Joins entries (from one or several updates) into one awareness update. */
export function writeAwarenessUpdate(entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = Array.isArray(entries) ? (entries as AwarenessEntry[]) : [...entries];
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, list.length);
  for (const entry of list) encoding.writeUint8Array(encoder, entry.bytes);
  return encoding.toUint8Array(encoder);
}

/** An awareness update that marks the given clients as gone (state `null`, clock advanced). */
export function writeAwarenessRemoval(clients: Iterable<{ clientId: number; clock: number }>): Uint8Array {
  const list = [...clients];
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, list.length);
  for (const { clientId, clock } of list) {
    encoding.writeVarUint(encoder, clientId);
    encoding.writeVarUint(encoder, clock + 1);
    encoding.writeVarString(encoder, 'null');
  }
  return encoding.toUint8Array(encoder);
}

const utf8 = new TextDecoder();

/** Bytes of an entry's state JSON. */
export function awarenessStateBytes(entry: AwarenessEntry): number {
  return entry.bytes.byteLength - entry.stateOffset;
}

/**
 * Whether an entry's state is UTF-8 JSON, as every stock client `JSON.parse`s it: one that is
 * not throws inside y-protocols' message handler and takes the receiving client down. (Invalid
 * UTF-8 would not throw there, but would show a state other than the one the server accepted.)
 */
export function isJsonState(entry: AwarenessEntry): boolean {
  return isJsonText(entry.bytes.subarray(entry.stateOffset));
}

/** Parses an entry's state; only for host code and the dashboard, never on the relay path. */
export function parseAwarenessState(entry: AwarenessEntry): unknown {
  return JSON.parse(utf8.decode(entry.bytes.subarray(entry.stateOffset)));
}
