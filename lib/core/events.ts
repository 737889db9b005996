import { EventEmitter } from 'node:events';
import type { StorageDamage } from './storage/document-store.js';
import type { ConnectionInfo, RoomInfo, ShutdownReport } from './types.js';

/** Events a Symphony instance emits, for the dashboard, metrics and host code. */
export interface SymphonyEventMap {
  roomLoaded: [room: RoomInfo];
  roomUnloaded: [room: { room: string }];
  connectionOpened: [connection: ConnectionInfo];
  connectionClosed: [connection: ConnectionInfo, close: { code: number; reason: string }];
  checkpoint: [checkpoint: { room: string; bytes: number; durationMs: number }];
  checkpointFailed: [failure: { room: string; error: unknown; attempt: number }];
  /** A loaded room's storage changed: damage found at load, or its updates stopped or resumed being written. */
  storageStatus: [status: { room: string; writable: boolean; damage: readonly StorageDamage[] }];
  /** `close()` finished; `unstoredRooms` lists the rooms whose changes exist nowhere but in this process. */
  closed: [report: ShutdownReport];
}

/** The emitter behind `symphony.events`, typed by `SymphonyEventMap`. */
export class SymphonyEvents extends EventEmitter<SymphonyEventMap> {}
