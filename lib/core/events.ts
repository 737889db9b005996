import { EventEmitter } from 'node:events';
import type { ConnectionInfo, RoomInfo } from './types.js';

/** Events a Symphony instance emits, for the dashboard, metrics and host code. */
export interface SymphonyEventMap {
  roomLoaded: [room: RoomInfo];
  roomUnloaded: [room: { room: string }];
  connectionOpened: [connection: ConnectionInfo];
  connectionClosed: [connection: ConnectionInfo, close: { code: number; reason: string }];
  checkpoint: [checkpoint: { room: string; bytes: number; durationMs: number }];
  checkpointFailed: [failure: { room: string; error: unknown; attempt: number }];
}

/** The emitter behind `symphony.events`, typed by `SymphonyEventMap`. */
export class SymphonyEvents extends EventEmitter<SymphonyEventMap> {}
