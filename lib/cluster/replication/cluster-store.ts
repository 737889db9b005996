import * as Y from 'yjs';
import type { DocumentStore } from '../../core/storage/document-store.js';
import type { RoomBus } from './room-bus.js';

/**
 * The document store of a cluster node: checkpoints in `documents` (S3), and the journal in the
 * rooms' Redis logs, which the replicator appends to. `load` merges both, as the `DocumentStore`
 * contract requires, so reading a room that is not loaded here (`symphony.readState`,
 * `symphony.toJSON`) includes the updates no checkpoint covers yet.
 */
export class ClusterStore implements DocumentStore {
  constructor(
    readonly documents: DocumentStore,
    private readonly bus: RoomBus,
  ) {}

  async load(room: string): Promise<Uint8Array | null> {
    // The log first: a checkpoint stores before it trims, so what is trimmed from this read is in
    // the state read next.
    const tail = await this.bus.readLog(room, 0);
    const stored = await this.documents.load(room);
    const updates = tail.entries.map((entry) => entry.update);
    if (stored) updates.unshift(stored);
    if (updates.length === 0) return null;
    return updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
  }

  store(room: string, state: Uint8Array): Promise<void> {
    return this.documents.store(room, state);
  }

  /** Deletes the room's log first, then its document: no node can load either back afterwards. */
  async delete(room: string): Promise<boolean> {
    const head = (await this.bus.heads([room])).get(room) ?? 0;
    await this.bus.deleteLog(room);
    const stored = this.documents.delete ? await this.documents.delete(room) : false;
    return stored || head > 0;
  }

  list(options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
    return this.documents.list ? this.documents.list(options) : Promise.resolve([]);
  }

  async release(room: string): Promise<void> {
    await this.documents.release?.(room);
  }

  async close(): Promise<void> {
    await this.documents.close?.();
  }
}
