import * as ws from 'ws';
import * as encoding from 'lib0/encoding';
import { messageAwareness, messageSync, syncStep1, syncStep2, syncUpdate } from './message-types.js';

/**
 * Builders for the few whole messages the server sends. Each is encoded once and the same bytes go
 * to every receiver.
 */
function frame(type: number, subType: number | null, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  if (subType !== null) encoding.writeVarUint(encoder, subType);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

export const syncStep1Frame = (stateVector: Uint8Array): Uint8Array => frame(messageSync, syncStep1, stateVector);
export const syncStep2Frame = (update: Uint8Array): Uint8Array => frame(messageSync, syncStep2, update);
export const syncUpdateFrame = (update: Uint8Array): Uint8Array => frame(messageSync, syncUpdate, update);
export const awarenessFrame = (update: Uint8Array): Uint8Array => frame(messageAwareness, null, update);

/** ws's frame encoder (`Sender.frame`), exported by ws but absent from its type definitions. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
const binaryFrameOptions = { fin: true, opcode: 0x02, mask: false, readOnly: true, rsv1: false };

/**
 * A whole WebSocket frame (header and payload, unmasked as server frames are) carrying `message`.
 * A broadcast frames its message once and writes the same bytes to every receiver's socket,
 * instead of ws framing (and writing header and payload separately) once per receiver.
 */
export function websocketFrame(message: Uint8Array): Buffer {
  const parts = Sender.frame(Buffer.from(message.buffer, message.byteOffset, message.byteLength), binaryFrameOptions);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** A y-websocket sync message header: message type, sub-type, then the payload's varUint length. */
function syncHeader(subType: number, payloadBytes: number): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, messageSync);
  encoding.writeVarUint(encoder, subType);
  encoding.writeVarUint(encoder, payloadBytes);
  return encoding.toUint8Array(encoder);
}

/** The header of an unmasked, final, binary WebSocket frame of `payloadBytes` (RFC 6455 §5.2). */
function binaryFrameHeader(payloadBytes: number): Buffer {
  if (payloadBytes < 126) return Buffer.from([0x82, payloadBytes]);
  if (payloadBytes < 65_536) {
    const header = Buffer.allocUnsafe(4);
    header[0] = 0x82;
    header[1] = 126;
    header.writeUInt16BE(payloadBytes, 2);
    return header;
  }
  const header = Buffer.allocUnsafe(10);
  header[0] = 0x82;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(payloadBytes), 2);
  return header;
}

/**
 * A whole WebSocket frame carrying a sync step 2 with `update`, as two parts to write one after
 * the other: the headers (WebSocket's and the message's, a few bytes) and `update` itself, not
 * copied. A reply to a joiner may be the whole document (tens of MB): a copy would double it.
 */
export function syncStep2WebsocketFrame(update: Uint8Array): SyncReplyFrame {
  const header = syncHeader(syncStep2, update.byteLength);
  const frameHeader = binaryFrameHeader(header.byteLength + update.byteLength);
  const headers = Buffer.allocUnsafe(frameHeader.byteLength + header.byteLength);
  frameHeader.copy(headers, 0);
  headers.set(header, frameHeader.byteLength);
  return { headers, update, byteLength: headers.byteLength + update.byteLength };
}

/** A sync reply's WebSocket frame in two parts (see `syncStep2WebsocketFrame`). */
export interface SyncReplyFrame {
  readonly headers: Buffer;
  readonly update: Uint8Array;
  readonly byteLength: number;
}
