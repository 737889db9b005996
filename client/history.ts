import * as Y from 'yjs';

/**
 * Undo and redo of this user's own changes.
 *
 * A `Y.UndoManager` over the whole document that tracks only local transactions: those made
 * through `batch` (the room's local origin) and those made without any origin (direct edits such
 * as `map.set(...)` outside a transaction). Changes that arrive from the server, from another tab
 * or from the offline copy carry the provider or the IndexedDB persistence as their origin and are
 * never undone, so Bob's undo reverts Bob's colour change and leaves Alice's new triangle alone.
 */
export class RoomHistory {
  private readonly manager: Y.UndoManager;
  private readonly subscribers = new Set<() => void>();
  /** The capture timeout to restore on `resume()`; null while not paused. */
  private pausedCaptureTimeoutMs: number | null = null;

  constructor(
    private readonly doc: Y.Doc,
    /** The origin of this user's transactions. */
    readonly localOrigin: object,
    /** Changes closer together than this many milliseconds form one undo step. */
    captureTimeoutMs: number,
  ) {
    this.manager = new Y.UndoManager(doc, { trackedOrigins: new Set<unknown>([localOrigin, null]), captureTimeout: captureTimeoutMs });
    for (const event of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) {
      this.manager.on(event, this.notify);
    }
  }

  /**
   * Runs `fn` as one transaction of this user: observers see one change, others receive one update
   * and, unless more changes follow within the capture timeout, `undo()` reverts it as one step.
   */
  batch<T>(fn: () => T): T {
    let result!: T;
    this.doc.transact(() => {
      result = fn();
    }, this.localOrigin);
    return result;
  }

  /** Ends the current undo step: the next change starts a new one even within the capture timeout. */
  stopCapturing(): void {
    this.manager.stopCapturing();
  }

  /**
   * Merges every change until `resume()` into one undo step, however long the pauses between them
   * (like Liveblocks' `history.pause()`). For gestures: a stroke drawn slowly, with the pointer
   * resting longer than the capture timeout, is still undone as a whole.
   */
  pause(): void {
    if (this.pausedCaptureTimeoutMs !== null) return;
    this.manager.stopCapturing();
    this.pausedCaptureTimeoutMs = this.manager.captureTimeout;
    this.manager.captureTimeout = Number.POSITIVE_INFINITY;
  }

  /** Ends a `pause()`: the next change starts a new undo step. */
  resume(): void {
    if (this.pausedCaptureTimeoutMs === null) return;
    this.manager.captureTimeout = this.pausedCaptureTimeoutMs;
    this.pausedCaptureTimeoutMs = null;
    this.manager.stopCapturing();
  }

  /** Reverts this user's last undo step. Returns false if there was nothing to undo. */
  undo(): boolean {
    return this.manager.undo() !== null;
  }

  /** Re-applies the last undone step. Returns false if there was nothing to redo. */
  redo(): boolean {
    return this.manager.redo() !== null;
  }

  /** Whether `undo()` has a change of this user's to revert. */
  canUndo(): boolean {
    return this.manager.canUndo();
  }

  /** Whether `redo()` has an undone change to re-apply. */
  canRedo(): boolean {
    return this.manager.canRedo();
  }

  /** Forgets every undo and redo step. */
  clear(): void {
    this.manager.clear();
  }

  /** Calls `callback` whenever `canUndo()` or `canRedo()` may have changed. Returns the unsubscribe function. */
  subscribe(callback: () => void): () => void {
    this.subscribers.add(callback);
    return () => this.subscribers.delete(callback);
  }

  /** Drops every subscriber and the undo stack; the room calls it when it is left. */
  destroy(): void {
    this.subscribers.clear();
    this.manager.destroy();
  }

  private readonly notify = (): void => {
    for (const subscriber of this.subscribers) subscriber();
  };
}
