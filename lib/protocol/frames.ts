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
