import { once } from 'node:events';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import type { CheckpointTicket, ReplicaMembership, RoomReplica } from '../replicator.js';
import type { Connection } from '../connection/connection.js';
import type { Counters } from '../counters.js';
import { CheckpointError, type UpdateRejectionCode } from '../errors.js';
import type { SymphonyEvents } from '../events.js';
import { childLogger, type Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import { awarenessFrame, syncStep1Frame, syncStep2Frame, syncUpdateFrame, websocketFrame } from '../protocol/frames.js';
import {
  messageAuth,
  messageAwareness,
  messageQueryAwareness,
  messageSync,
  syncStep1,
  syncStep2,
  syncUpdate,
} from '../protocol/message-types.js';
import type { LoadPayload, RoomInfo, UpdateOrigin } from '../types.js';
import type { VersionHistory } from '../versions/version-history.js';
import { Presence } from './presence.js';

export interface RoomContext {
  readonly options: ResolvedOptions;
  readonly events: SymphonyEvents;
  readonly counters: Counters;
  /** Version history; null when it is off. */
  readonly versions: VersionHistory | null;
  /** Called once the room has left memory. */
  readonly onUnloaded: (room: LoadedRoom) => void;
}

const loadOrigin: UpdateOrigin = Object.freeze({ kind: 'load' });

/** Why an update from a client or host code was refused (see `UpdateRejectedError`). */
export interface UpdateRefusal {
  readonly code: UpdateRejectionCode;
  readonly message: string;
  readonly cause?: unknown;
}

/** Longest wait between checkpoint retries of a room whose store keeps failing. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * A room: one Y.Doc, its presence states and the connections editing it. It applies and relays
 * updates, journals and checkpoints them, and unloads itself once empty and saved.
 */
export class LoadedRoom implements RoomReplica {
  readonly doc = new Y.Doc({ gc: true });
  readonly presence = new Presence();
  readonly connections = new Set<Connection>();
  readonly loadedAt = new Date();
  lastActivityAt = new Date();
  lastCheckpointAt: Date | null = null;
  documentBytes = 0;
  /** Resolves once the room's state is loaded; rejects if it cannot be. */
  loading: Promise<void> | null = null;

  private readonly logger: Logger;
  private membership: ReplicaMembership | null = null;
  /** Joins in progress (authenticated, socket not yet added) and host-code operations holding the room. */
  private holds = 0;
  private unsaved = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private unloadTimer: NodeJS.Timeout | null = null;
  private checkpointChain: Promise<boolean> = Promise.resolve(true);
  private failedCheckpoints = 0;
  private unloaded = false;
  /** Updates applied since the room loaded: a checkpoint becomes a version only if it covers new ones. */
  private changes = 0;
  private versionedChanges = 0;
  private versionWriteFailed = false;
  private versionWrites: Promise<void> = Promise.resolve();
  private deleted = false;

  constructor(
    readonly name: string,
    private readonly context: RoomContext,
  ) {
    this.logger = childLogger(context.options.logger, { room: name });
  }

  /** The room's name (as `RoomReplica`). */
  get room(): string {
    return this.name;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async load(): Promise<void> {
    const { store, replicator, hooks } = this.context.options;
    this.membership = replicator ? await replicator.join(this.name, this) : null;
    let state = this.membership?.initialState ?? null;
    let source: LoadPayload['source'] = 'peer';
    if (state === null) {
      state = await store.load(this.name);
      source = state === null ? 'new' : 'store';
    }
    if (state !== null) {
      Y.applyUpdate(this.doc, state, loadOrigin);
      this.documentBytes = state.byteLength;
    }
    // Registered after the load, so the loaded state is neither journaled nor relayed.
    this.doc.on('update', this.handleDocumentUpdate);
    this.membership?.ready();
    await hooks.onLoad?.({ room: this.name, doc: this.doc, source });
  }

  /** Keeps the room loaded while a join or a host-code operation is in progress. */
  hold(): void {
    this.holds++;
    this.cancelUnload();
  }

  unhold(): void {
    this.holds--;
    this.leaveIfEmpty();
  }

  addConnection(connection: Connection): void {
    this.holds--;
    this.connections.add(connection);
    this.touch();
    connection.send(syncStep1Frame(Y.encodeStateVector(this.doc)));
    const states = this.presence.encodeAll();
    if (states) connection.send(awarenessFrame(states));
  }

  removeConnection(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const removal = this.presence.removeOwner(connection.id);
    if (removal) {
      this.broadcast(awarenessFrame(removal), null);
      this.membership?.publishAwareness(removal);
    }
    this.leaveIfEmpty();
  }

  info(): RoomInfo {
    return {
      name: this.name,
      connections: this.connections.size,
      documentBytes: this.documentBytes,
      loadedAt: this.loadedAt,
      lastActivityAt: this.lastActivityAt,
      lastCheckpointAt: this.lastCheckpointAt,
      unsaved: this.unsaved,
    };
  }

  // ---- the wire protocol --------------------------------------------------------------------

  /** Handles one message from a client. A malformed one closes that connection only. */
  receive(connection: Connection, message: Uint8Array): void {
    if (connection.closed) return;
    connection.messagesIn++;
    this.context.counters.messagesIn++;
    try {
      const decoder = decoding.createDecoder(message);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case messageSync:
          this.receiveSync(connection, decoder);
          break;
        case messageAwareness: {
          const update = decoding.readVarUint8Array(decoder);
          if (this.presence.apply(update, connection.id)) {
            // The client's own message is exactly the frame the others need: relay it untouched.
            this.broadcast(message, connection);
            this.membership?.publishAwareness(update);
          }
          break;
        }
        case messageQueryAwareness: {
          const states = this.presence.encodeAll();
          if (states) connection.send(awarenessFrame(states));
          break;
        }
        case messageAuth:
          // Only servers send auth messages; a client's is meaningless and harmless.
          break;
        default:
          this.closeForProtocolError(connection, CloseReason.unknownMessageType, { type });
      }
    } catch (error) {
      this.closeForProtocolError(connection, CloseReason.protocolError, { err: error });
    }
  }

  private receiveSync(connection: Connection, decoder: decoding.Decoder): void {
    const subType = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (subType === syncStep1) {
      connection.send(syncStep2Frame(Y.encodeStateAsUpdate(this.doc, payload)));
    } else if (subType === syncStep2 || subType === syncUpdate) {
      this.applyClientUpdate(connection, payload);
    } else {
      this.closeForProtocolError(connection, CloseReason.unknownMessageType, { type: messageSync, subType });
    }
  }

  private applyClientUpdate(connection: Connection, update: Uint8Array): void {
    if (connection.readOnly) {
      connection.droppedUpdates++;
      this.context.counters.droppedReadOnlyUpdates++;
      return;
    }
    const refusal = this.admitUpdate(update, connection.origin);
    if (refusal === null) return;
    switch (refusal.code) {
      case 'SYMPHONY_ERR_DOCUMENT_TOO_LARGE':
        this.logger.warn({ connection: connection.id, documentBytes: this.documentBytes, updateBytes: update.byteLength }, 'update refused: document too large');
        connection.close(CloseCode.documentTooLarge, CloseReason.documentTooLarge);
        break;
      case 'SYMPHONY_ERR_UPDATE_TOO_LARGE':
        connection.close(CloseCode.messageTooBig, CloseReason.messageTooBig);
        break;
      case 'SYMPHONY_ERR_MALFORMED_UPDATE':
        this.closeForProtocolError(connection, CloseReason.protocolError, { err: refusal.cause });
        break;
    }
  }

  /** A Yjs update from host code: passes exactly the checks of a client's update. Returns why it was refused, or null. */
  applyHostUpdate(update: Uint8Array, reason?: string): UpdateRefusal | null {
    return this.admitUpdate(update, reason === undefined ? { kind: 'server' } : { kind: 'server', reason });
  }

  /** The checks every update from a client or host code passes, then the update itself. Returns why it was refused, or null. */
  private admitUpdate(update: Uint8Array, origin: UpdateOrigin): UpdateRefusal | null {
    const { maxMessageBytes, maxDocumentBytes } = this.context.options.limits;
    if (update.byteLength > maxMessageBytes) {
      return { code: 'SYMPHONY_ERR_UPDATE_TOO_LARGE', message: `the update (${update.byteLength} bytes) exceeds limits.maxMessageBytes (${maxMessageBytes})` };
    }
    if (this.documentBytes + update.byteLength > maxDocumentBytes) {
      return { code: 'SYMPHONY_ERR_DOCUMENT_TOO_LARGE', message: `the document would exceed limits.maxDocumentBytes (${maxDocumentBytes})` };
    }
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch (cause) {
      return { code: 'SYMPHONY_ERR_MALFORMED_UPDATE', message: 'not a valid Yjs update', cause };
    }
    return null;
  }

  private closeForProtocolError(connection: Connection, reason: string, context: object): void {
    this.context.counters.protocolErrors++;
    this.logger.warn({ connection: connection.id, userId: connection.userId, ...context }, `closing connection: ${reason}`);
    connection.close(CloseCode.protocolError, reason);
  }

  // ---- updates from every source ------------------------------------------------------------

  /** Every change to the document, whatever its origin, is journaled, relayed and scheduled for a checkpoint here. */
  private readonly handleDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    const source = origin as UpdateOrigin;
    this.changes++;
    this.documentBytes += update.byteLength;
    this.touch();
    this.markUnsaved();
    this.context.options.store.append?.(this.name, update);
    if (source?.kind !== 'remote') this.membership?.publishUpdate(update);
    if (this.connections.size > (source?.kind === 'client' ? 1 : 0)) {
      this.broadcast(syncUpdateFrame(update), this.connectionOf(source));
    }
    const { events } = this.context;
    if (events.listenerCount('documentUpdated') > 0) events.emit('documentUpdated', { room: this.name, bytes: update.byteLength, origin: source ?? { kind: 'server' } });
    const { onChange } = this.context.options.hooks;
    if (onChange) {
      try {
        onChange({ room: this.name, doc: this.doc, update, origin: source ?? { kind: 'server' } });
      } catch (error) {
        this.logger.error({ err: error }, 'onChange hook failed');
      }
    }
  };

  applyRemoteUpdate(update: Uint8Array, nodeId: string): void {
    Y.applyUpdate(this.doc, update, { kind: 'remote', nodeId } satisfies UpdateOrigin);
  }

  applyRemoteAwareness(update: Uint8Array, nodeId: string): void {
    if (this.presence.apply(update, `node:${nodeId}`)) this.broadcast(awarenessFrame(update), null);
  }

  encodeLocalAwareness(): Uint8Array | null {
    return this.presence.encodeAll();
  }

  /** Applies a change made by host code, as one transaction with a `server` origin. */
  applyServerChange(change: (doc: Y.Doc) => void, reason?: string): void {
    const origin: UpdateOrigin = reason === undefined ? { kind: 'server' } : { kind: 'server', reason };
    this.doc.transact(() => change(this.doc), origin);
  }

  private connectionOf(origin: UpdateOrigin | undefined): Connection | null {
    if (origin?.kind !== 'client') return null;
    for (const connection of this.connections) if (connection.origin === origin) return connection;
    return null;
  }

  private broadcast(message: Uint8Array, except: Connection | null): void {
    if (this.connections.size === (except ? 1 : 0)) return;
    const frame = websocketFrame(message);
    for (const connection of this.connections) {
      if (connection !== except) connection.sendFrame(frame);
    }
    this.context.counters.messagesOut += this.connections.size - (except ? 1 : 0);
  }

  private touch(): void {
    this.lastActivityAt = new Date();
  }

  // ---- checkpoints and unloading ------------------------------------------------------------

  private markUnsaved(): void {
    this.unsaved = true;
    this.checkpointTimer ??= setTimeout(() => void this.checkpoint(), this.context.options.checkpointIntervalMs);
  }

  /**
   * Writes the room's merged state to the document store if it has unsaved changes. Resolves to
   * true when everything is saved; on failure the room stays unsaved and a retry is scheduled.
   * Checkpoints of one room never overlap.
   */
  checkpoint(): Promise<boolean> {
    this.checkpointChain = this.checkpointChain.then(() => this.writeCheckpoint());
    return this.checkpointChain;
  }

  private async writeCheckpoint(): Promise<boolean> {
    if (this.checkpointTimer) {
      clearTimeout(this.checkpointTimer);
      this.checkpointTimer = null;
    }
    if (!this.unsaved || this.unloaded) {
      if (this.versionWriteFailed && !this.unloaded && this.isWriter) this.writeAutomaticVersion(Y.encodeStateAsUpdate(this.doc), this.changes);
      return true;
    }
    let ticket: CheckpointTicket | null;
    try {
      ticket = this.membership ? this.membership.beginCheckpoint() : null;
    } catch (cause) {
      // The cluster cannot vouch for this room's changes yet: count it as a failed checkpoint, so
      // the room stays loaded and is retried.
      return this.checkpointFailed(cause);
    }
    if (this.membership && ticket === null) {
      // Another node holds the writer lease; this node's updates are durable in the cluster's log.
      this.unsaved = false;
      return true;
    }
    const started = performance.now();
    const state = Y.encodeStateAsUpdate(this.doc);
    const changes = this.changes;
    this.unsaved = false;
    try {
      await this.context.options.store.store(this.name, state);
      await ticket?.commit();
    } catch (cause) {
      return this.checkpointFailed(cause);
    }
    const durationMs = performance.now() - started;
    this.failedCheckpoints = 0;
    this.documentBytes = state.byteLength;
    this.lastCheckpointAt = new Date();
    this.context.counters.checkpoints++;
    this.context.events.emit('checkpoint', { room: this.name, bytes: state.byteLength, durationMs });
    this.writeAutomaticVersion(state, changes);
    try {
      await this.context.options.hooks.onStore?.({ room: this.name, state, durationMs });
    } catch (error) {
      this.logger.error({ err: error }, 'onStore hook failed');
    }
    return !this.unsaved;
  }

  /** True when this node holds the room's writer lease (always on a single node): it alone writes checkpoints and automatic versions. */
  get isWriter(): boolean {
    return this.membership?.isWriter ?? true;
  }

  /**
   * Writes a checkpointed state as an automatic version, if it covers changes no version has.
   * Off the checkpoint's path: a failure is logged and retried at the next checkpoint, and never
   * fails the checkpoint.
   */
  private writeAutomaticVersion(state: Uint8Array, changes: number): void {
    const versions = this.context.versions;
    if (!versions || !this.context.options.versions.automatic || changes <= this.versionedChanges) return;
    this.versionWrites = this.versionWrites.then(async () => {
      if (changes <= this.versionedChanges || this.deleted) return;
      try {
        await versions.create(this.name, state, 'auto');
        this.versionedChanges = changes;
        this.versionWriteFailed = false;
      } catch (error) {
        this.versionWriteFailed = true;
        this.logger.error({ err: error }, 'writing an automatic version failed; the next checkpoint retries');
      }
    });
  }

  /** True once `drop` was called: the room was deleted and must not be used any more. */
  get wasDeleted(): boolean {
    return this.deleted;
  }

  private checkpointFailed(cause: unknown): false {
    const error = new CheckpointError(this.name, cause);
    this.failedCheckpoints++;
    this.context.counters.checkpointFailures++;
    this.logger.error({ err: error, attempt: this.failedCheckpoints }, 'checkpoint failed; the room stays in memory and is retried');
    this.context.events.emit('checkpointFailed', { room: this.name, error, attempt: this.failedCheckpoints });
    this.unsaved = true;
    if (!this.checkpointTimer && !this.unloaded) {
      const delay = Math.min(MAX_RETRY_DELAY_MS, this.context.options.checkpointIntervalMs, 500 * 2 ** this.failedCheckpoints);
      this.checkpointTimer = setTimeout(() => void this.checkpoint().then(() => this.leaveIfEmpty()), delay);
    }
    return false;
  }

  private leaveIfEmpty(): void {
    if (this.connections.size > 0 || this.holds > 0 || this.unloaded || this.unloadTimer) return;
    // Save at once when the last user leaves; unload only after a grace period, so a reload is cheap.
    void this.checkpoint();
    this.unloadTimer = setTimeout(() => {
      this.unloadTimer = null;
      void this.unload();
    }, this.context.options.unloadGraceMs);
  }

  private cancelUnload(): void {
    if (this.unloadTimer) {
      clearTimeout(this.unloadTimer);
      this.unloadTimer = null;
    }
  }

  /** Unloads the room if it is still empty and everything is saved; otherwise it stays (and is retried). */
  async unload(): Promise<boolean> {
    if (this.unloaded) return true;
    if (this.connections.size > 0 || this.holds > 0) return false;
    const saved = await this.checkpoint();
    if (!saved || this.unsaved || this.connections.size > 0 || this.holds > 0 || this.unloaded) return false;
    this.unloaded = true;
    this.cancelUnload();
    this.doc.off('update', this.handleDocumentUpdate);
    this.context.onUnloaded(this);
    try {
      await this.versionWrites;
      await this.membership?.leave();
      await this.context.options.store.release?.(this.name);
    } catch (error) {
      this.logger.warn({ err: error }, 'releasing the room after unload failed');
    }
    this.doc.destroy();
    this.context.events.emit('roomUnloaded', { room: this.name });
    return true;
  }

  /**
   * The room was deleted: closes every connection with 4410 and leaves memory without saving
   * (a checkpoint now would write the deleted document back). Pending version writes are skipped.
   */
  async drop(): Promise<void> {
    if (this.unloaded) return;
    this.deleted = true;
    this.unloaded = true;
    this.stopTimers();
    this.doc.off('update', this.handleDocumentUpdate);
    this.context.onUnloaded(this);
    const closed = [...this.connections].map((connection) => {
      const done = connection.socket.readyState === connection.socket.CLOSED ? Promise.resolve() : once(connection.socket, 'close');
      connection.close(CloseCode.roomDeleted, CloseReason.roomDeleted);
      return done;
    });
    await Promise.all(closed);
    // A checkpoint already writing must finish before the stored document is deleted, or it would write it back.
    await this.checkpointChain;
    await this.versionWrites;
    try {
      await this.membership?.leave();
      await this.context.options.store.release?.(this.name);
    } catch (error) {
      this.logger.warn({ err: error }, 'releasing a deleted room failed');
    }
    this.doc.destroy();
    this.context.events.emit('roomUnloaded', { room: this.name });
  }

  /** Drops the room without saving: only for a room whose load failed. */
  discard(): void {
    this.unloaded = true;
    this.cancelUnload();
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    // A load that failed after joining the cluster must not leave this node subscribed or registered.
    this.membership?.leave().catch((error: unknown) => this.logger.warn({ err: error }, 'leaving the cluster after a failed load failed'));
    this.doc.destroy();
  }

  /** Stops timers after a final checkpoint at shutdown. */
  stopTimers(): void {
    this.cancelUnload();
    if (this.checkpointTimer) {
      clearTimeout(this.checkpointTimer);
      this.checkpointTimer = null;
    }
  }
}
