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
}
