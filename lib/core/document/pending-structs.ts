import type * as Y from 'yjs';

/**
 * Bytes of updates Yjs holds back because they depend on structs the document does not have.
 * They are kept encoded, outside the document's structs, and Yjs includes them in every encoded
 * state (checkpoints and the sync step 2 a joiner receives) until their dependencies arrive.
 */
export function pendingBytes(doc: Y.Doc): number {
  return (doc.store.pendingStructs?.update.byteLength ?? 0) + (doc.store.pendingDs?.byteLength ?? 0);
}

/**
 * Forgets the held-back updates. Nothing is lost for a stock client: its next sync sends whatever
 * the server's state vector lacks, the held-back structs included.
 */
export function dropPendingStructs(doc: Y.Doc): void {
  doc.store.pendingStructs = null;
  doc.store.pendingDs = null;
}
