import * as Y from 'yjs';
import { syncStep2WebsocketFrame, type SyncReplyFrame } from '../protocol/frames.js';

/**
 * Documents whose encoded state is smaller than this are encoded afresh for each joiner: that
 * costs little, while a kept copy would be memory held by every idle room. Above it, one joiner's
 * encoding takes milliseconds to seconds and a join storm would repeat it per joiner.
 */
export const MIN_SHARED_STATE_BYTES = 65_536;

/** The state vector of an empty document: what a client that has nothing yet sends in its sync step 1. */
export function isEmptyStateVector(stateVector: Uint8Array): boolean {
  return stateVector.byteLength === 1 && stateVector[0] === 0;
}

/**
 * The sync reply for a joiner that has nothing yet (the common case): the whole document as one
 * WebSocket frame, encoded once per document version and written, as the same bytes, to every
 * joiner of that version. The next change to the document drops it; the next joiner encodes it again.
 */
export class FullStateFrame {
  private frame: SyncReplyFrame | null = null;

  constructor(private readonly doc: Y.Doc) {}

  /** The frame of a sync step 2 carrying the whole document at its current version. */
  current(): SyncReplyFrame {
    if (this.frame) return this.frame;
    const frame = syncStep2WebsocketFrame(Y.encodeStateAsUpdate(this.doc));
    if (frame.byteLength >= MIN_SHARED_STATE_BYTES) this.frame = frame;
    return frame;
  }

  /** Called on every change to the document, and when nobody is left to join soon. */
  invalidate(): void {
    this.frame = null;
  }

  /** Whether a frame is held (for tests and the dashboard's view of memory). */
  get held(): boolean {
    return this.frame !== null;
  }
}
