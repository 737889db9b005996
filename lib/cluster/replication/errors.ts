import { SymphonyError } from '../../core/errors.js';

/**
 * A checkpoint cannot complete yet because some of this node's updates are not in the cluster's
 * log (Redis was unreachable when they were made). The room stays loaded and the checkpoint is
 * retried; the updates are appended once Redis answers again.
 */
export class UnpublishedUpdatesError extends SymphonyError {
  readonly updates: number;

  constructor(room: string, updates: number) {
    super('SYMPHONY_ERR_UNPUBLISHED_UPDATES', `room "${room}" has ${updates} update(s) not yet appended to the cluster log`, { room });
    this.updates = updates;
  }
}

/**
 * No live node holds the room's writer lease yet, so nobody may write its checkpoint. This node
 * is trying to take the lease; the checkpoint is retried (every update is durable in the log
 * meanwhile).
 */
export class NoWriterError extends SymphonyError {
  constructor(room: string) {
    super('SYMPHONY_ERR_NO_WRITER', `room "${room}" has no live writer yet; this node is taking the lease`, { room });
  }
}

/**
 * The document store refused a checkpoint: another node wrote the room's document since this node
 * last read or wrote it, so this node is no longer (or not yet) the room's writer. It steps down:
 * gives up the writer lease and reads the newer document back before it may write again.
 */
export class StaleCheckpointError extends SymphonyError {
  constructor(room: string, options: { cause?: unknown } = {}) {
    super('SYMPHONY_ERR_STALE_CHECKPOINT', `room "${room}": the stored document changed since this node last read or wrote it; checkpoint refused`, { room, ...options });
  }
}
