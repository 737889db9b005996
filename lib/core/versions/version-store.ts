import type { VersionInfo } from './version-types.js';

/**
 * Where versions live, beside the room's document: `FileVersionStore` under the FileStore's data
 * directory, `S3VersionStore` (cluster mode) in the documents' bucket. Versions are immutable:
 * a store writes each id once and never rewrites it.
 */
export interface VersionStore {
  /** Writes a version atomically: a reader sees either all of it or nothing. */
  put(info: VersionInfo, state: Uint8Array): Promise<void>;
  /** Every version of the room, newest first; empty for an unknown room. */
  list(room: string): Promise<VersionInfo[]>;
  /** A version's state, or null when the room has no such version. */
  read(room: string, id: string): Promise<Uint8Array | null>;
  /** Deletes some versions of a room (ids it does not have are ignored). */
  delete(room: string, ids: readonly string[]): Promise<void>;
  /** Deletes every version of a room. */
  deleteAll(room: string): Promise<void>;
}
