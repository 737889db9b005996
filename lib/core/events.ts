import { EventEmitter } from 'node:events';
import type { StorageDamage } from './storage/document-store.js';
import type { ConnectionInfo, RoomInfo, ShutdownReport, UpdateOrigin } from './types.js';
import type { VersionInfo } from './versions/version-types.js';

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
  /** A version was written (automatic or named). */
  versionCreated: [version: VersionInfo];
  /** `deleteRoom` deleted a room: its connections were closed, its document and versions deleted. */
  roomDeleted: [room: { room: string }];
  /** An update was applied to a loaded room's document; emitted only while someone listens, so it costs nothing otherwise. */
  documentUpdated: [update: { room: string; bytes: number; origin: UpdateOrigin }];
}

/** The emitter behind `symphony.events`, typed by `SymphonyEventMap`. */
export class SymphonyEvents extends EventEmitter<SymphonyEventMap> {}
