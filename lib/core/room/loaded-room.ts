import { once } from 'node:events';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import type { CheckpointTicket, ReplicaMembership, RoomReplica } from '../replicator.js';
import type { Connection } from '../connection/connection.js';
import type { Counters } from '../counters.js';
import { addFootprint, emptyFootprint, measureDocument } from '../document/footprint.js';
import { dropPendingStructs, pendingBytes } from '../document/pending-structs.js';
import { CheckpointError, StorageUnavailableError, type UpdateRejectionCode } from '../errors.js';
import type { SymphonyEvents } from '../events.js';
import { childLogger, type Logger } from '../logger.js';
import type { ResolvedOptions } from '../options.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import { awarenessFrame, syncStep1Frame, syncStep2WebsocketFrame } from '../protocol/frames.js';
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
import { RoomFanOut, type FanOutTicker } from './fan-out.js';
import type { VersionHistory } from '../versions/version-history.js';
import { Presence, PresenceRefusedError } from './presence.js';
import { FullStateFrame, isEmptyStateVector } from './state-cache.js';
import { hasUnfinishedTransaction } from './transaction-health.js';
import { admitClientUpdate } from './update-admission.js';

export interface RoomContext {
  readonly options: ResolvedOptions;
  readonly events: SymphonyEvents;
  readonly counters: Counters;
  /** The clock of coalesced broadcasts; null when every message is written at once. */
  readonly fanOutTicker: FanOutTicker | null;
  /** Version history; null when it is off. */
  readonly versions: VersionHistory | null;
  /** Called once the room has left memory. */
  readonly onUnloaded: (room: LoadedRoom) => void;
}

const loadOrigin: UpdateOrigin = Object.freeze({ kind: 'load' });

/** An update without structs or deletions: what a client in sync answers to the server's sync step 1. */
function isEmptyUpdate(update: Uint8Array): boolean {
  return update.byteLength === 2 && update[0] === 0 && update[1] === 0;
}

/** Why an update from a client or host code was refused (see `UpdateRejectedError`). */
export interface UpdateRefusal {
  readonly code: UpdateRejectionCode;
  /** How a client's connection is closed for it. */
  readonly closeCode: number;
  readonly closeReason: string;
  /** What the log line and the error say about the refusal. */
  readonly details: Record<string, unknown>;
}

function refusal(code: UpdateRejectionCode, closeCode: number, closeReason: string, details: Record<string, unknown>): UpdateRefusal {
  return { code, closeCode, closeReason, details };
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
  /** Items and content the document holds, as `limits` count them: exact after load and each checkpoint, an upper bound between. */
  readonly footprint = emptyFootprint();
  /** Resolves once the room's state is loaded; rejects if it cannot be. */
  loading: Promise<void> | null = null;

  private roomLogger: Logger | null = null;
  private readonly fanOut: RoomFanOut;
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
  /** Updates applied since the room loaded: a checkpoint becomes a version only if it covers new ones. */
  private changes = 0;
  private versionedChanges = 0;
  private versionWriteFailed = false;
  private versionWrites: Promise<void> = Promise.resolve();
  private deleted = false;
  /** While a client's update is applied: its document updates, committed only once Yjs finished cleanly. */
  private heldUpdates: [Uint8Array, unknown][] | null = null;

  constructor(
    readonly name: string,
    private readonly context: RoomContext,
  ) {
    this.presence = new Presence(context.options.limits);
    this.fanOut = new RoomFanOut(this.connections, context.counters, context.fanOutTicker, context.options.fanOut.busyThresholdPerTick);
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
      Object.assign(this.footprint, measureDocument(this.doc));
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
    if (this.unloaded) {
      // The room was found damaged while this join was in progress: the next join reloads it.
      connection.close(CloseCode.internalError, CloseReason.roomDamaged);
      return;
    }
    this.connections.add(connection);
    this.touch();
    connection.send(syncStep1Frame(Y.encodeStateVector(this.doc)));
    const states = this.presence.encodeAll();
    if (states) connection.send(awarenessFrame(states));
  }

  removeConnection(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const removal = this.presence.removeOwner(connection.id);
    // A room given up as damaged has left the cluster already: nobody is left to tell.
    if (removal && !this.unloaded) {
      this.fanOut.presence(removal, null, null);
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
            this.fanOut.presence(relay, relay === update ? message : null, connection);
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
    const refusal = this.admitUpdate(update, connection.origin, connection);
    if (refusal === null) return;
    if (refusal.code === 'SYMPHONY_ERR_ROOM_DAMAGED') return; // every connection was closed with 1011
    if (refusal.code === 'SYMPHONY_ERR_MALFORMED_UPDATE') return this.closeForProtocolError(connection, refusal.closeReason, refusal.details ?? {});
    this.logger.warn({ connection: connection.id, userId: connection.userId, ...refusal.details }, `update refused: ${refusal.closeReason}`);
    connection.close(refusal.closeCode, refusal.closeReason);
  }

  /** A Yjs update from host code: passes exactly the checks of a client's update. Returns why it was refused, or null. */
  applyHostUpdate(update: Uint8Array, reason?: string): UpdateRefusal | null {
    return this.admitUpdate(update, reason === undefined ? { kind: 'server' } : { kind: 'server', reason }, null);
  }

  /**
   * The checks every update from a client or host code passes, then the update itself, applied
   * whole or not at all (see `applyWhole`). Returns why it was refused, or null.
   */
  private admitUpdate(update: Uint8Array, origin: UpdateOrigin, sender: Connection | null): UpdateRefusal | null {
    const { limits } = this.context.options;
    if (update.byteLength > limits.maxMessageBytes) {
      return refusal('SYMPHONY_ERR_UPDATE_TOO_LARGE', CloseCode.messageTooBig, CloseReason.messageTooBig, { updateBytes: update.byteLength, maxMessageBytes: limits.maxMessageBytes });
    }
    if (!this.writable) {
      // A client with nothing new answers the sync with an empty update: nothing to write, nothing refused.
      if (isEmptyUpdate(update)) return null;
      this.context.counters.updatesRefusedUnwritable++;
      // Not applied, so not relayed: a client keeps the change and sends it again when it reconnects.
      return refusal('SYMPHONY_ERR_STORAGE_UNAVAILABLE', CloseCode.tryAgainLater, CloseReason.storageUnavailable, {});
    }
    const admission = admitClientUpdate(this.doc, update, this, limits);
    if (!admission.ok) {
      const code = admission.malformed ? 'SYMPHONY_ERR_MALFORMED_UPDATE' : admission.code === CloseCode.nestingTooDeep ? 'SYMPHONY_ERR_NESTING_TOO_DEEP' : 'SYMPHONY_ERR_DOCUMENT_TOO_LARGE';
      return refusal(code, admission.code, admission.reason, admission.details);
    }
    if (!this.applyWhole(update, origin, sender)) return refusal('SYMPHONY_ERR_ROOM_DAMAGED', CloseCode.internalError, CloseReason.roomDamaged, {});
    addFootprint(this.footprint, admission.footprint);
    const pending = pendingBytes(this.doc);
    if (pending > limits.maxPendingBytes) {
      dropPendingStructs(this.doc);
      // What was dropped had been counted on arrival; recounting keeps the limits from leaking.
      Object.assign(this.footprint, measureDocument(this.doc));
      return refusal('SYMPHONY_ERR_MISSING_DEPENDENCIES', CloseCode.missingDependencies, CloseReason.missingDependencies, { pendingBytes: pending, maxPendingBytes: limits.maxPendingBytes });
    }
    return null;
  }

  /**
   * Applies an update and commits (journals, relays) what it changed only once Yjs has finished
   * its transaction. An update that fails half-way leaves the document holding part of it: that
   * state must never be saved or sent, so the room is given up (see `giveUpDamaged`).
   */
  private applyWhole(update: Uint8Array, origin: UpdateOrigin, sender: Connection | null): boolean {
    const held: [Uint8Array, unknown][] = [];
    this.heldUpdates = held;
    let failure: unknown = null;
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch (error) {
      failure = error;
    } finally {
      this.heldUpdates = null;
    }
    if (failure === null && hasUnfinishedTransaction(this.doc)) failure = new Error('a transaction did not finish');
    if (failure !== null) {
      this.giveUpDamaged(failure, { connection: sender?.id, userId: sender?.userId, origin: origin.kind, updateBytes: update.byteLength });
      return false;
    }
    for (const [change, changeOrigin] of held) this.commitDocumentUpdate(change, changeOrigin);
    return true;
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

  private readonly handleDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    if (this.heldUpdates) this.heldUpdates.push([update, origin]);
    else this.commitDocumentUpdate(update, origin);
  };

  /** Every change to the document, whatever its origin, is journaled, relayed and scheduled for a checkpoint here. */
  private commitDocumentUpdate(update: Uint8Array, origin: unknown): void {
    const source = origin as UpdateOrigin;
    this.fullState.invalidate();
    this.changes++;
    this.documentBytes += update.byteLength;
    this.touch();
    this.markUnsaved();
    this.context.options.store.append?.(this.name, update);
    if (source?.kind !== 'remote') this.membership?.publishUpdate(update);
    if (this.connections.size > (source?.kind === 'client' ? 1 : 0)) {
      this.fanOut.update(update, this.connectionOf(source));
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
  }

  applyRemoteUpdate(update: Uint8Array, nodeId: string): void {
    if (this.unloaded) return;
    this.applyWhole(update, { kind: 'remote', nodeId }, null);
  }

  requestCheckpoint(): void {
    if (!this.unloaded) this.markUnsaved();
  }

  applyRemoteAwareness(update: Uint8Array, nodeId: string): void {
    const relay = this.presence.apply(update, `node:${nodeId}`, 'node');
    if (relay) this.fanOut.presence(relay, null, null);
  }

  encodeLocalAwareness(): Uint8Array | null {
    return this.presence.encodeLocal();
  }

  /** Applies a change made by host code, as one transaction with a `server` origin. */
  applyServerChange(change: (doc: Y.Doc) => void, reason?: string): void {
    if (!this.writable) throw new StorageUnavailableError(this.name);
    const origin: UpdateOrigin = reason === undefined ? { kind: 'server' } : { kind: 'server', reason };
    try {
      this.doc.transact(() => change(this.doc), origin);
    } finally {
      if (hasUnfinishedTransaction(this.doc)) this.giveUpDamaged(new Error('a transaction did not finish'), { origin: 'server' });
    }
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
    // Deletions and merges shrink a document; an exact count keeps the limits from drifting upwards.
    if (!this.unloaded) Object.assign(this.footprint, measureDocument(this.doc));
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
    this.fanOut.stop();
    this.context.onUnloaded(this);
    this.stopWatchingStorage?.();
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

  /**
   * Gives up a room whose document can no longer be trusted (an update failed half-way through, or
   * Yjs did not finish a transaction): its state is never checkpointed, every connection is closed
   * with 1011 (stock clients reconnect) and the room is unloaded, so the next join loads it again
   * from the store, whose journal holds every change committed before the damage.
   */
  private giveUpDamaged(cause: unknown, context: Record<string, unknown>): void {
    if (this.unloaded) return;
    this.logger.error({ err: cause, ...context }, 'room damaged: unloading it without a checkpoint; the next join reloads it from the store');
    this.unloaded = true;
    this.unsaved = false;
    this.stopTimers();
    this.stopWatchingStorage?.();
    this.doc.off('update', this.handleDocumentUpdate);
    // Released first and synchronously, so the journal is flushed before a reload can read it.
    const released = Promise.resolve(this.context.options.store.release?.(this.name));
    this.context.onUnloaded(this);
    for (const connection of this.connections) connection.close(CloseCode.internalError, CloseReason.roomDamaged);
    void released
      .then(() => this.membership?.leave())
      .catch((error: unknown) => this.logger.warn({ err: error }, 'releasing a damaged room failed'));
    try {
      this.doc.destroy();
    } catch (error) {
      this.logger.debug({ err: error }, 'destroying a damaged document failed');
    }
    this.context.events.emit('roomUnloaded', { room: this.name });
  }

  /** Drops the room without saving: only for a room whose load failed. */
  discard(): void {
    this.unloaded = true;
    this.cancelUnload();
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.fanOut.stop();
    this.stopWatchingStorage?.();
    // A load that failed after joining the cluster must not leave this node subscribed or registered.
    this.membership?.leave().catch((error: unknown) => this.logger.warn({ err: error }, 'leaving the cluster after a failed load failed'));
    this.doc.destroy();
  }

  /** Stops timers after a final checkpoint at shutdown. */
  stopTimers(): void {
    this.cancelUnload();
    this.fanOut.stop();
    if (this.checkpointTimer) {
      clearTimeout(this.checkpointTimer);
      this.checkpointTimer = null;
    }
  }
}
