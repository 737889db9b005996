import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import type { CheckpointTicket, ReplicaMembership, RoomReplica } from '../replicator.js';
import type { Connection } from '../connection/connection.js';
import type { Counters } from '../counters.js';
import { addFootprint, emptyFootprint, measureDocument } from '../document/footprint.js';
import { dropPendingStructs, pendingBytes } from '../document/pending-structs.js';
import { CheckpointError } from '../errors.js';
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
import { Presence } from './presence.js';
import { hasUnfinishedTransaction } from './transaction-health.js';
import { admitClientUpdate } from './update-admission.js';

export interface RoomContext {
  readonly options: ResolvedOptions;
  readonly events: SymphonyEvents;
  readonly counters: Counters;
  /** Called once the room has left memory. */
  readonly onUnloaded: (room: LoadedRoom) => void;
}

const loadOrigin: UpdateOrigin = Object.freeze({ kind: 'load' });

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
  /** Items and content the document holds, as `limits` count them: exact after load and each checkpoint, an upper bound between. */
  readonly footprint = emptyFootprint();
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
  /** While a client's update is applied: its document updates, committed only once Yjs finished cleanly. */
  private heldUpdates: [Uint8Array, unknown][] | null = null;

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
      Object.assign(this.footprint, measureDocument(this.doc));
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
    const { limits } = this.context.options;
    const admission = admitClientUpdate(this.doc, update, this, limits);
    if (!admission.ok) {
      if (admission.malformed) return this.closeForProtocolError(connection, admission.reason, admission.details);
      this.logger.warn({ connection: connection.id, userId: connection.userId, ...admission.details }, `update refused: ${admission.reason}`);
      connection.close(admission.code, admission.reason);
      return;
    }
    if (!this.applyWhole(update, connection.origin, connection)) return;
    addFootprint(this.footprint, admission.footprint);
    const pending = pendingBytes(this.doc);
    if (pending > limits.maxPendingBytes) {
      dropPendingStructs(this.doc);
      // What was dropped had been counted on arrival; recounting keeps the limits from leaking.
      Object.assign(this.footprint, measureDocument(this.doc));
      this.logger.warn({ connection: connection.id, userId: connection.userId, pendingBytes: pending }, `closing connection: ${CloseReason.missingDependencies}`);
      connection.close(CloseCode.missingDependencies, CloseReason.missingDependencies);
    }
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

  // ---- updates from every source ------------------------------------------------------------

  private readonly handleDocumentUpdate = (update: Uint8Array, origin: unknown): void => {
    if (this.heldUpdates) this.heldUpdates.push([update, origin]);
    else this.commitDocumentUpdate(update, origin);
  };

  /** Every change to the document, whatever its origin, is journaled, relayed and scheduled for a checkpoint here. */
  private commitDocumentUpdate(update: Uint8Array, origin: unknown): void {
    const source = origin as UpdateOrigin;
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
  }

  applyRemoteUpdate(update: Uint8Array, nodeId: string): void {
    if (this.unloaded) return;
    this.applyWhole(update, { kind: 'remote', nodeId }, null);
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
    try {
      this.doc.transact(() => change(this.doc), origin);
    } finally {
      if (hasUnfinishedTransaction(this.doc)) this.giveUpDamaged(new Error('a transaction did not finish'), { origin: 'server' });
    }
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
