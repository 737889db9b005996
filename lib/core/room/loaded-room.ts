import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import type { CheckpointTicket, ReplicaMembership, RoomReplica } from '../replicator.js';
import type { Connection } from '../connection/connection.js';
import type { Counters } from '../counters.js';
import { CheckpointError, StorageUnavailableError } from '../errors.js';
import type { SymphonyEvents } from '../events.js';
import { childLogger, type Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import { awarenessFrame, syncStep1Frame, syncStep2WebsocketFrame, syncUpdateFrame, websocketFrame } from '../protocol/frames.js';
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
import type { RoomStorageStatus, StorageDamage } from '../storage/document-store.js';
import { Presence, PresenceRefusedError } from './presence.js';
import { FullStateFrame, isEmptyStateVector } from './state-cache.js';

export interface RoomContext {
  readonly options: ResolvedOptions;
  readonly events: SymphonyEvents;
  readonly counters: Counters;
  /** Called once the room has left memory. */
  readonly onUnloaded: (room: LoadedRoom) => void;
}

const loadOrigin: UpdateOrigin = Object.freeze({ kind: 'load' });

/** An update without structs or deletions: what a client in sync answers to the server's sync step 1. */
function isEmptyUpdate(update: Uint8Array): boolean {
  return update.byteLength === 2 && update[0] === 0 && update[1] === 0;
}

/** Longest wait between checkpoint retries of a room whose store keeps failing. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * A room: one Y.Doc, its presence states and the connections editing it. It applies and relays
 * updates, journals and checkpoints them, and unloads itself once empty and saved.
 */
export class LoadedRoom implements RoomReplica {
  readonly doc = new Y.Doc({ gc: true });
  readonly presence: Presence;
  readonly connections = new Set<Connection>();
  /** The reply to joiners that have nothing yet, shared by all joiners of one document version. */
  readonly fullState = new FullStateFrame(this.doc);
  readonly loadedAt = new Date();
  lastActivityAt = new Date();
  lastCheckpointAt: Date | null = null;
  documentBytes = 0;
  /** Resolves once the room's state is loaded; rejects if it cannot be. */
  loading: Promise<void> | null = null;

  private roomLogger: Logger | null = null;
  private membership: ReplicaMembership | null = null;
  /** Joins in progress (authenticated, socket not yet added) and host-code operations holding the room. */
  private holds = 0;
  private unsaved = false;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private unloadTimer: NodeJS.Timeout | null = null;
  private checkpointChain: Promise<boolean> = Promise.resolve(true);
  private failedCheckpoints = 0;
  private unloaded = false;
  /** Damage the store found in this room's stored data when it loaded (quarantined, never deleted). */
  private storageDamage: readonly StorageDamage[] = [];
  /** False while the store cannot write this room's updates: they are refused, never applied unwritten. */
  private writable = true;
  private stopWatchingStorage: (() => void) | null = null;

  constructor(
    readonly name: string,
    private readonly context: RoomContext,
  ) {
    this.presence = new Presence(context.options.limits);
  }

  /** A child logger naming the room, made on the first log line: most rooms never log, and a pino child costs each of them memory. */
  private get logger(): Logger {
    this.roomLogger ??= childLogger(this.context.options.logger, { room: this.name });
    return this.roomLogger;
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
      // Watched from before the load, so damage found while loading reaches the room.
      this.stopWatchingStorage = store.watch?.(this.name, this.handleStorageStatus) ?? null;
      state = await store.load(this.name);
      source = state === null ? 'new' : 'store';
    }
    if (state !== null) {
      Y.applyUpdate(this.doc, state, loadOrigin);
      this.documentBytes = state.byteLength;
    }
    // Registered after the load, so the loaded state is neither journaled nor relayed.
    this.doc.on('update', this.handleDocumentUpdate);
    // A fresh snapshot of the intact state, so that the damaged files age out of the generations kept.
    if (this.damaged) this.markUnsaved();
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

  /** Served from damaged storage (see `RoomInfo.damaged`); read by `stats()` without building an info object per room. */
  get damaged(): boolean {
    return this.storageDamage.length > 0;
  }

  /** False while the store cannot write the room's updates. */
  get storageWritable(): boolean {
    return this.writable;
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
      damaged: this.storageDamage.length > 0,
      storageDamage: this.storageDamage,
      writable: this.writable,
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
          const relay = this.presence.apply(update, connection.id, 'connection');
          if (relay) {
            // When every entry was accepted, the client's own message is exactly the frame the others need.
            this.broadcast(relay === update ? message : awarenessFrame(relay), connection);
            this.membership?.publishAwareness(relay);
          }
          break;
        }
        case messageQueryAwareness: {
          const states = this.presence.answerQuery(connection.id);
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
      if (error instanceof PresenceRefusedError) this.closeForPresence(connection, error);
      else this.closeForProtocolError(connection, CloseReason.protocolError, { err: error });
    }
  }

  private receiveSync(connection: Connection, decoder: decoding.Decoder): void {
    const subType = decoding.readVarUint(decoder);
    const payload = decoding.readVarUint8Array(decoder);
    if (subType === syncStep1) {
      // A client that has part of the document gets only what it lacks: encoding from the live
      // document skips what the state vector covers, where diffing the shared full state would
      // decode all of it (measured: 0 ms against 40 ms for an up-to-date client of a 20 MB text).
      const reply = isEmptyStateVector(payload) ? this.fullState.current() : syncStep2WebsocketFrame(Y.encodeStateAsUpdate(this.doc, payload));
      connection.sendSyncReply(reply);
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
    if (!this.writable) {
      // A client with nothing new answers the sync with an empty update: it may stay, and read.
      if (isEmptyUpdate(update)) return;
      // Not applied, so not relayed: the client keeps the change and sends it again when it reconnects.
      this.context.counters.updatesRefusedUnwritable++;
      connection.close(CloseCode.tryAgainLater, CloseReason.storageUnavailable);
      return;
    }
    if (this.documentBytes + update.byteLength > this.context.options.limits.maxDocumentBytes) {
      this.logger.warn({ connection: connection.id, documentBytes: this.documentBytes, updateBytes: update.byteLength }, 'update refused: document too large');
      connection.close(CloseCode.documentTooLarge, CloseReason.documentTooLarge);
      return;
    }
    Y.applyUpdate(this.doc, update, connection.origin);
  }

  private closeForProtocolError(connection: Connection, reason: string, context: object): void {
    this.context.counters.protocolErrors++;
    this.logger.warn({ connection: connection.id, userId: connection.userId, ...context }, `closing connection: ${reason}`);
    connection.close(CloseCode.protocolError, reason);
  }

  private closeForPresence(connection: Connection, error: PresenceRefusedError): void {
    this.context.counters.protocolErrors++;
    this.logger.warn({ connection: connection.id, userId: connection.userId, clientId: error.clientId }, `closing connection: ${error.reason}`);
    connection.close(CloseCode.presenceRefused, error.reason);
  }

  // ---- updates from every source ------------------------------------------------------------

  /** Every change to the document, whatever its origin, is journaled, relayed and scheduled for a checkpoint here. */
  private readonly handleDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    const source = origin as UpdateOrigin;
    this.fullState.invalidate();
    this.documentBytes += update.byteLength;
    this.touch();
    this.markUnsaved();
    this.context.options.store.append?.(this.name, update);
    if (source?.kind !== 'remote') this.membership?.publishUpdate(update);
    if (this.connections.size > (source?.kind === 'client' ? 1 : 0)) {
      this.broadcast(syncUpdateFrame(update), this.connectionOf(source));
    }
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

  requestCheckpoint(): void {
    if (!this.unloaded) this.markUnsaved();
  }

  applyRemoteAwareness(update: Uint8Array, nodeId: string): void {
    const relay = this.presence.apply(update, `node:${nodeId}`, 'node');
    if (relay) this.broadcast(awarenessFrame(relay), null);
  }

  encodeLocalAwareness(): Uint8Array | null {
    return this.presence.encodeLocal();
  }

  /** Applies a change made by host code, as one transaction with a `server` origin. */
  applyServerChange(change: (doc: Y.Doc) => void, reason?: string): void {
    if (!this.writable) throw new StorageUnavailableError(this.name);
    const origin: UpdateOrigin = reason === undefined ? { kind: 'server' } : { kind: 'server', reason };
    this.doc.transact(() => change(this.doc), origin);
  }

  private readonly handleStorageStatus = (status: RoomStorageStatus): void => {
    if (status.damage.length > this.storageDamage.length) {
      this.context.counters.storageDamageFound += status.damage.length - this.storageDamage.length;
      this.logger.error({ damage: status.damage }, 'room served from damaged storage: the intact data is served, the damaged bytes are kept aside');
    }
    this.storageDamage = status.damage;
    if (status.writable === this.writable) return;
    this.writable = status.writable;
    if (!status.writable) {
      const writers = [...this.connections].filter((connection) => !connection.readOnly);
      this.logger.error({ writers: writers.length }, 'the room\'s updates cannot be written: refusing them and closing its writers with 1013 until the store recovers');
      for (const connection of writers) connection.close(CloseCode.tryAgainLater, CloseReason.storageUnavailable);
    } else {
      this.logger.info({}, 'the room\'s updates are written again: accepting them');
    }
    this.context.events.emit('storageStatus', { room: this.name, writable: status.writable, damage: status.damage });
  };

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
    // Once saved, unload if nobody is left: this timer may have taken the place of a failed
    // unload's retry (a change from another node, or becoming the writer, while the room was empty).
    this.checkpointTimer ??= setTimeout(() => {
      void this.checkpoint().then((saved) => {
        if (saved) this.leaveIfEmpty();
      });
    }, this.context.options.checkpointIntervalMs);
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
    if (!this.unsaved || this.unloaded) return true;
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
    this.unsaved = false;
    try {
      await this.context.options.store.store(this.name, state);
    } catch (cause) {
      ticket?.abort?.(cause);
      return this.checkpointFailed(cause);
    }
    try {
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
    try {
      await this.context.options.hooks.onStore?.({ room: this.name, state, durationMs });
    } catch (error) {
      this.logger.error({ err: error }, 'onStore hook failed');
    }
    return !this.unsaved;
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
    // Nobody left to join this version soon: the next joiner may well find a newer one.
    this.fullState.invalidate();
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
    this.stopWatchingStorage?.();
    try {
      await this.membership?.leave();
      await this.context.options.store.release?.(this.name);
    } catch (error) {
      this.logger.warn({ err: error }, 'releasing the room after unload failed');
    }
    this.doc.destroy();
    this.context.events.emit('roomUnloaded', { room: this.name });
    return true;
  }

  /** Drops the room without saving: only for a room whose load failed. */
  discard(): void {
    this.unloaded = true;
    this.cancelUnload();
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.stopWatchingStorage?.();
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
