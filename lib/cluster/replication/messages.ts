/**
 * The binary messages nodes exchange on a room's pub/sub channel.
 *
 * Every message starts with the same small header, so a node can drop its own messages and tell
 * who sent the others without decoding the payload:
 *
 *     kind (1 byte) | sender node id length (1 byte) | sender node id (UTF-8)
 *
 * followed by the kind's body. Document updates are written by the append script inside Redis
 * (it alone knows the update's log sequence number), so the update layout is fixed:
 *
 *     update:          seq (float64, big-endian) | Yjs update
 *     awareness:       y-protocols awareness update
 *     stateVector:     seq (float64, big-endian) | Yjs state vector
 *     awarenessQuery:  (empty)
 *     repair:          target node id length (1 byte) | target node id | Yjs update
 *     leave:           (empty)
 *     deleted:         (empty)
 *
 * Sequence numbers are integers below 2^53, which a float64 holds exactly (and which Lua, whose
 * only number type is a double, can write with `struct.pack('>d', seq)`).
 */
import { MAX_NODE_ID_BYTES } from '../../util/node-id.js';

export const MessageKind = {
  /** A document update, also appended to the room's durable log. */
  update: 1,
  /** A presence (awareness) update from the sender's clients. */
  awareness: 2,
  /** The sender's state vector and log position: anti-entropy, and a liveness signal. */
  stateVector: 3,
  /** Asks every node to publish its clients' presence states (sent by a node that just joined). */
  awarenessQuery: 4,
  /** What the target node was found to lack, computed from its state vector. */
  repair: 5,
  /** The sender unloaded the room (and released its writer lease, if it held it). */
  leave: 6,
  /** The room was deleted: every holder closes its connections and unloads it without saving. */
  deleted: 7,
} as const;

/** A message on a room's bus, as nodes exchange it. */
export type BusMessage =
  | { readonly kind: 'update'; readonly nodeId: string; readonly seq: number; readonly update: Uint8Array }
  | { readonly kind: 'awareness'; readonly nodeId: string; readonly update: Uint8Array }
  | { readonly kind: 'stateVector'; readonly nodeId: string; readonly seq: number; readonly stateVector: Uint8Array }
  | { readonly kind: 'awarenessQuery'; readonly nodeId: string }
  | { readonly kind: 'repair'; readonly nodeId: string; readonly target: string; readonly update: Uint8Array }
  | { readonly kind: 'leave'; readonly nodeId: string }
  | { readonly kind: 'deleted'; readonly nodeId: string };


const kindNames = new Map<number, BusMessage['kind']>(Object.entries(MessageKind).map(([name, code]) => [code, name as BusMessage['kind']]));

export class MalformedMessageError extends Error {
  constructor(reason: string) {
    super(`malformed cluster message: ${reason}`);
    this.name = 'MalformedMessageError';
  }
}

function nodeIdBytes(nodeId: string): Buffer {
  const bytes = Buffer.from(nodeId, 'utf8');
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_NODE_ID_BYTES) {
    throw new RangeError(`a node id must be 1 to ${MAX_NODE_ID_BYTES} bytes of UTF-8, got ${bytes.byteLength}`);
  }
  return bytes;
}

/** The header of every message `nodeId` sends with this kind. Cached by the sender: it never changes. */
export function encodeHeader(kind: BusMessage['kind'], nodeId: string): Buffer {
  const id = nodeIdBytes(nodeId);
  return Buffer.concat([Buffer.from([MessageKind[kind], id.byteLength]), id]);
}

function seqBytes(seq: number): Buffer {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeDoubleBE(seq);
  return bytes;
}

/** Encodes every kind except `update`, whose body the append script writes inside Redis. */
export function encodeMessage(message: Exclude<BusMessage, { kind: 'update' }>): Buffer {
  const header = encodeHeader(message.kind, message.nodeId);
  switch (message.kind) {
    case 'awareness':
      return Buffer.concat([header, message.update]);
    case 'stateVector':
      return Buffer.concat([header, seqBytes(message.seq), message.stateVector]);
    case 'repair': {
      const target = nodeIdBytes(message.target);
      return Buffer.concat([header, Buffer.from([target.byteLength]), target, message.update]);
    }
    case 'awarenessQuery':
    case 'leave':
    case 'deleted':
      return header;
  }
}

/** Encodes an update message as the append script does; for tests and for a bus without scripts. */
export function encodeUpdateMessage(nodeId: string, seq: number, update: Uint8Array): Buffer {
  return Buffer.concat([encodeHeader('update', nodeId), seqBytes(seq), update]);
}

/** Decodes a message; throws `MalformedMessageError` for bytes no node could have sent. */
export function decodeMessage(bytes: Uint8Array): BusMessage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.byteLength < 2) throw new MalformedMessageError('shorter than a header');
  const kind = kindNames.get(buffer[0]);
  if (kind === undefined) throw new MalformedMessageError(`unknown kind ${buffer[0]}`);
  const idEnd = 2 + buffer[1];
  if (buffer[1] === 0 || buffer.byteLength < idEnd) throw new MalformedMessageError('truncated node id');
  const nodeId = buffer.toString('utf8', 2, idEnd);
  const body = buffer.subarray(idEnd);
  switch (kind) {
    case 'update':
    case 'stateVector': {
      if (body.byteLength < 8) throw new MalformedMessageError(`truncated ${kind}`);
      const seq = body.readDoubleBE(0);
      if (!Number.isSafeInteger(seq) || seq < 0) throw new MalformedMessageError(`invalid sequence number ${seq}`);
      const payload = body.subarray(8);
      return kind === 'update' ? { kind, nodeId, seq, update: payload } : { kind, nodeId, seq, stateVector: payload };
    }
    case 'awareness':
      return { kind, nodeId, update: body };
    case 'repair': {
      if (body.byteLength < 1 || body[0] === 0 || body.byteLength < 1 + body[0]) throw new MalformedMessageError('truncated repair target');
      const target = body.toString('utf8', 1, 1 + body[0]);
      return { kind, nodeId, target, update: body.subarray(1 + body[0]) };
    }
    case 'awarenessQuery':
    case 'leave':
    case 'deleted':
      return { kind, nodeId };
  }
}
