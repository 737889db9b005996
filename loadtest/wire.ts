/**
 * The frames a virtual user sends, built with the same message types as the server
 * (lib/core/protocol/message-types.ts). A y-websocket frame is a message type and its body;
 * Hocuspocus puts the document name (a varString) in front of every frame, authenticates with a
 * message of its own first, and answers sync messages with its `SyncReply` type.
 */
import * as encoding from 'lib0/encoding';
import { messageAuth, messageAwareness, messageSync, syncStep1, syncStep2, syncUpdate } from '../lib/core/protocol/message-types.js';

export type Protocol = 'y-websocket' | 'hocuspocus';

/** Hocuspocus' answer to a sync message: a sync message that must not trigger another step 1 (@hocuspocus/server `MessageType.SyncReply`). */
export const hocuspocusSyncReply = 4;
/** Sub-types of Hocuspocus' auth message (@hocuspocus/common `AuthMessageType`). */
export const hocuspocusAuthToken = 0;
export const hocuspocusPermissionDenied = 1;

/** A state vector with no clients: the user holds nothing yet, so the server sends everything. */
const EMPTY_STATE_VECTOR = new Uint8Array([0]);
/** A Yjs update with no structs and an empty delete set. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

/** The frames of one room, built once: every member sends the same handshake. */
export class RoomFrames {
  /** Bytes every frame of this room starts with: the document name for Hocuspocus, nothing for y-websocket. */
  readonly prefix: Uint8Array;
  /** Sent as soon as the socket opens: sync step 1 (after the auth message, for Hocuspocus). */
  readonly hello: Uint8Array[];
  /**
   * The answer to the server's sync step 1: an empty update. Everything a user ever writes goes
   * over this same socket, so the server never lacks anything from it.
   */
  readonly syncStep2Reply: Uint8Array;

  constructor(room: string, protocol: Protocol, authToken: string) {
    const prefix = encoding.createEncoder();
    if (protocol === 'hocuspocus') encoding.writeVarString(prefix, room);
    this.prefix = encoding.toUint8Array(prefix);
    const step1 = this.frame((body) => {
      encoding.writeVarUint(body, messageSync);
      encoding.writeVarUint(body, syncStep1);
      encoding.writeVarUint8Array(body, EMPTY_STATE_VECTOR);
    });
    this.syncStep2Reply = this.frame((body) => {
      encoding.writeVarUint(body, messageSync);
      encoding.writeVarUint(body, syncStep2);
      encoding.writeVarUint8Array(body, EMPTY_UPDATE);
    });
    if (protocol === 'hocuspocus') {
      const auth = this.frame((body) => {
        encoding.writeVarUint(body, messageAuth);
        encoding.writeVarUint(body, hocuspocusAuthToken);
        encoding.writeVarString(body, authToken);
      });
      this.hello = [auth, step1];
    } else {
      this.hello = [step1];
    }
  }

  /** A document update (a Yjs v1 update) as a sync message. */
  docUpdate(update: Uint8Array): Uint8Array {
    return this.frame((body) => {
      encoding.writeVarUint(body, messageSync);
      encoding.writeVarUint(body, syncUpdate);
      encoding.writeVarUint8Array(body, update);
    });
  }

  /** An awareness update carrying one client's state (y-protocols/awareness encoding). */
  awareness(clientId: number, clock: number, stateJson: string): Uint8Array {
    const update = encoding.createEncoder();
    encoding.writeVarUint(update, 1); // one client's state
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, stateJson);
    return this.frame((body) => {
      encoding.writeVarUint(body, messageAwareness);
      encoding.writeVarUint8Array(body, encoding.toUint8Array(update));
    });
  }

  private frame(writeBody: (body: encoding.Encoder) => void): Uint8Array {
    const frame = encoding.createEncoder();
    encoding.writeUint8Array(frame, this.prefix);
    writeBody(frame);
    return encoding.toUint8Array(frame);
  }
}

/** Where a received Hocuspocus frame's message type starts: after the varString document name. */
export function afterDocumentName(data: Buffer): number {
  let length = 0;
  let shift = 0;
  let position = 0;
  let byte: number;
  do {
    byte = data[position++];
    length |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80 && position < data.length);
  return position + length;
}
