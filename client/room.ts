import { IndexeddbPersistence } from 'y-indexeddb';
import { Awareness, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { RoomConnection, type RoomStatus, type TokenSource, type WebSocketClass } from './connection.js';
import type { SymphonyClientError } from './errors.js';
import { RoomHistory } from './history.js';
import { RoomPresence } from './presence.js';

/** Events of a room; `room.on(name, callback)` returns the unsubscribe function. */
export interface RoomEventMap {
  /** The status changed. */
  status: (status: RoomStatus) => void;
  /** An error the app can act on; `error.retrying` tells whether the room keeps trying. */
  error: (error: SymphonyClientError) => void;
  /** `canUndo()` or `canRedo()` may have changed. */
  history: () => void;
}

/** Settings a room receives from its client (see `ClientOptions` for meanings and defaults). */
export interface RoomSettings<P extends object> {
  readonly url: string;
  readonly name: string;
  readonly initialPresence: P;
  readonly token: TokenSource | undefined;
  readonly WebSocket: WebSocketClass;
  readonly offline: boolean;
  readonly storageName: string;
  readonly crossTab: boolean;
  readonly presenceThrottleMs: number;
  readonly undoCaptureTimeoutMs: number;
  readonly maxBackoffMs: number;
  readonly watchNetwork: boolean;
  readonly onLeft: () => void;
}

/**
 * One shared document and its presence, as one user sees it. Create it with `client.enterRoom()`.
 *
 * Everything is local first: changes apply to `doc` at once, are written to IndexedDB (when offline
 * storage is on) and reach the server whenever a connection exists.
 */
export class Room<P extends object = Record<string, unknown>> {
  readonly name: string;
  /** The shared Yjs document. Edit it inside `room.transact()` to make the edit one undo step. */
  readonly doc = new Y.Doc();
  readonly presence: RoomPresence<P>;
  readonly history: RoomHistory;

  private readonly persistence: IndexeddbPersistence | null;
  private readonly awareness: Awareness;
  private readonly connection: RoomConnection;
  private readonly listeners: { [K in keyof RoomEventMap]: Set<RoomEventMap[K]> } = { status: new Set(), error: new Set(), history: new Set() };
  private readonly loaded: Promise<void>;
  private left = false;

  /** @internal Rooms are made by {@link SymphonyClient.enterRoom}. */
  constructor(private readonly settings: RoomSettings<P>) {
    this.name = settings.name;
    // The origin of this user's transactions: the undo manager tracks it, nothing else uses it.
    const localOrigin = Object.freeze({ room: settings.name, local: true });
    this.history = new RoomHistory(this.doc, localOrigin, settings.undoCaptureTimeoutMs);
    this.history.subscribe(() => this.emit('history'));

    // Created before the provider so that its update handler runs first: each local change is
    // handed to IndexedDB before it is handed to the socket.
    this.persistence = settings.offline ? new IndexeddbPersistence(settings.storageName, this.doc) : null;
    this.loaded = this.persistence ? this.persistence.whenSynced.then(() => undefined) : Promise.resolve();

    this.awareness = new Awareness(this.doc);
    this.presence = new RoomPresence(this.awareness, settings.initialPresence, settings.presenceThrottleMs);
    this.connection = new RoomConnection({
      url: settings.url,
      room: settings.name,
      doc: this.doc,
      awareness: this.awareness,
      token: settings.token,
      WebSocket: settings.WebSocket,
      crossTab: settings.crossTab,
      maxBackoffMs: settings.maxBackoffMs,
      watchNetwork: settings.watchNetwork,
      onStatus: (status) => this.emit('status', status),
      onError: (error) => this.emit('error', error),
    });
  }

  get status(): RoomStatus {
    return this.connection.status;
  }

  /** The error that stopped the room from connecting (auth refused, message or document too large), or null. */
  get error(): SymphonyClientError | null {
    return this.connection.error;
  }

  /** The shared map `name` of the document (created on first use, the same object afterwards). */
  map<T = unknown>(name: string): Y.Map<T> {
    return this.doc.getMap<T>(name);
  }

  /** The shared array `name` of the document. */
  array<T = unknown>(name: string): Y.Array<T> {
    return this.doc.getArray<T>(name);
  }

  /** The shared text `name` of the document. */
  text(name: string): Y.Text {
    return this.doc.getText(name);
  }

  /** Runs `fn` as one transaction of this user (one update, one undo step); same as `history.batch`. */
  transact<T>(fn: () => T): T {
    return this.history.batch(fn);
  }

  /** Reverts this user's last change; other users' changes stay. Returns false if there was nothing to undo. */
  undo(): boolean {
    return this.history.undo();
  }

  /** Re-applies this user's last undone change. Returns false if there was nothing to redo. */
  redo(): boolean {
    return this.history.redo();
  }

  /** Whether `undo()` has a change of this user's to revert. */
  canUndo(): boolean {
    return this.history.canUndo();
  }

  /** Whether `redo()` has an undone change to re-apply. */
  canRedo(): boolean {
    return this.history.canRedo();
  }

  /** Calls `callback` on each `event` (see `RoomEventMap`). Returns the unsubscribe function. */
  on<K extends keyof RoomEventMap>(event: K, callback: RoomEventMap[K]): () => void {
    const listeners = this.listeners[event] as Set<RoomEventMap[K]>;
    listeners.add(callback);
    return () => listeners.delete(callback);
  }

  /** Resolves once the offline copy (IndexedDB) is applied to `doc`; at once without offline storage. */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /** Resolves when the status is `synced`; rejects if the room stops on an error or is left first. */
  whenSynced(): Promise<void> {
    if (this.status === 'synced') return Promise.resolve();
    if (this.error) return Promise.reject(this.error);
    if (this.left) return Promise.reject(new Error(`room "${this.name}" was left`));
    return new Promise((resolve, reject) => {
      const offStatus = this.on('status', (status) => {
        if (status === 'synced') {
          offStatus();
          offError();
          resolve();
        } else if (this.left) {
          offStatus();
          offError();
          reject(new Error(`room "${this.name}" was left before it synced`));
        }
      });
      const offError = this.on('error', (error) => {
        if (error.retrying) return;
        offStatus();
        offError();
        reject(error);
      });
    });
  }

  /** Tries to connect again after an error stopped the room, with a fresh token. */
  reconnect(): void {
    this.connection.reconnect();
  }

  /**
   * Leaves the room: tells the others this user left, closes the connection and the offline copy
   * and frees the document. With `clearOfflineData` the room's IndexedDB copy is deleted too (for
   * example on sign-out on a shared computer); changes the server has not received are then lost.
   */
  async leave(options: { clearOfflineData?: boolean } = {}): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.presence.destroy();
    // Removing the local state while the socket is still open tells the others at once, instead
    // of after their 30 s awareness timeout.
    removeAwarenessStates(this.awareness, [this.doc.clientID], 'left');
    this.connection.destroy();
    this.awareness.destroy();
    this.history.destroy();
    if (this.persistence) await (options.clearOfflineData ? this.persistence.clearData() : this.persistence.destroy());
    for (const listeners of Object.values(this.listeners)) listeners.clear();
    this.doc.destroy();
    this.settings.onLeft();
  }

  private emit<K extends keyof RoomEventMap>(event: K, ...args: Parameters<RoomEventMap[K]>): void {
    for (const listener of this.listeners[event]) (listener as (...values: Parameters<RoomEventMap[K]>) => void)(...args);
  }
}
