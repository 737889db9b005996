/** Stored bytes of a room that could not be read: kept aside (quarantined), never deleted. */
export interface StorageDamage {
  /** A journal with records that failed their checksums (the intact ones around them are served), or a snapshot that could not be loaded (an older generation was). */
  readonly kind: 'journal' | 'snapshot';
  /** The damaged file, relative to the store's data directory. */
  readonly file: string;
  /** Where a copy of its bytes is kept for inspection, relative to the data directory. */
  readonly quarantinedAs: string;
  readonly damagedBytes: number;
}

/** How a store sees one loaded room. */
export interface RoomStorageStatus {
  /** Damage found when the room was loaded (empty when its stored data was intact). */
  readonly damage: readonly StorageDamage[];
  /**
   * False while the room's appended updates cannot be written (a full disk, an I/O error): the
   * store keeps them and retries, and Symphony refuses the room's updates until it is true again.
   */
  readonly writable: boolean;
}

/**
 * Where rooms' documents live between sessions. Symphony ships `FileStore` (embedded, a data
 * directory), `MemoryStore` (tests, ephemeral rooms) and `S3Store` (cluster mode).
 *
 * The contract Symphony relies on:
 * - `store(room, state)` is called with the room's whole merged state. `state` includes every
 *   update passed to `append` before the call, so a store may discard journal entries appended
 *   before `store` was called, once `store` has succeeded, and must keep those appended after it.
 * - `load` returns the latest stored state merged with every journal entry appended since, or
 *   null for a room that was never stored. It rejects when the state exists but cannot be read:
 *   Symphony then refuses to serve the room rather than serve it empty.
 */
export interface DocumentStore {
  /** The room's stored state merged with its journal; null for a room never stored. */
  load(room: string): Promise<Uint8Array | null>;
  /** Writes a checkpoint: the room's whole merged state. */
  store(room: string, state: Uint8Array): Promise<void>;
  /**
   * Optional journal: makes one update durable before the next checkpoint. Called synchronously on
   * the update path, so implementations buffer and write in the background. Stores without a
   * journal lose the changes since the last checkpoint if the process dies.
   */
  append?(room: string, update: Uint8Array): void;
  /** Called when a room is unloaded, after its last `store`: release per-room resources. */
  release?(room: string): Promise<void>;
  /**
   * Deletes the room's document and journal; resolves to true if anything existed. Called by
   * `symphony.deleteRoom` once the room is unloaded everywhere.
   */
  delete?(room: string): Promise<boolean>;
  /**
   * Names of stored rooms in ascending order, those starting with `prefix` and after `after`, at
   * most `limit` of them (the dashboard lists stored rooms after a restart with it).
   */
  list?(options: { prefix?: string; after?: string; limit: number }): Promise<string[]>;
  /** Flush journals and release resources; called by `symphony.close()` after the last checkpoint. */
  close?(): Promise<void>;
  /**
   * Optional: tells Symphony about a room's storage status (damage found at load, journal writes
   * failing and recovering). Symphony watches a room from before its `load` until it unloads;
   * the returned function stops watching.
   */
  watch?(room: string, onStatus: (status: RoomStorageStatus) => void): () => void;
  /**
   * Optional, for stores with a journal: rooms with appended updates that are not written yet
   * because writing failed. After `close()`, those updates exist nowhere but in this process.
   */
  unwrittenRooms?(): string[];
}
