import type * as Y from 'yjs';

/**
 * True when a transaction on `doc` did not run to its end: Yjs resets `_transaction` and empties
 * `_transactionCleanups` once a transaction's cleanup (garbage collection, observers, the `update`
 * event) has finished. An exception thrown inside that cleanup, such as a stack overflow, leaves
 * them set, and from then on the document never emits `update` again: its state can no longer be
 * trusted, journaled or checkpointed.
 */
export function hasUnfinishedTransaction(doc: Y.Doc): boolean {
  return doc._transaction !== null || doc._transactionCleanups.length > 0;
}
