import type { DocumentStore } from '../../core/storage/document-store.js';

/**
 * The document store a cluster checkpoints to, fenced where the backend allows it: once a room is
 * tracked, `store` writes only over the version of the room's document this node last read or
 * wrote, and rejects with a `StaleCheckpointError` when another node wrote it since. A writer that
 * lost its lease without noticing (cut off from the registry, paused, slow) can then never
 * overwrite a newer checkpoint, on which the trimming of the room's log relies.
 */
export interface CheckpointStore extends DocumentStore {
  /**
   * From now until `release(room)`, remember the version of the room's document as this node
   * reads and writes it, and write only over that version. Without it, `store` writes
   * unconditionally (a single node, a tool).
   */
  track?(room: string): void;
}
