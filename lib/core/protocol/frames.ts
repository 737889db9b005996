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
