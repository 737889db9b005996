import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import * as Y from 'yjs';
import type { ClusterView } from './replicator.js';
import { Connection } from './connection/connection.js';
import { createCounters, type Counters } from './counters.js';
import { documentToJSON } from './document/to-json.js';
import { authenticateUpgrade } from './connection/authenticate.js';
import { ExpiryWheel } from './connection/expiry-wheel.js';
import { HandshakeGuard, type HandshakeTicket } from './connection/handshake-guard.js';
import { SocketListeners } from './connection/socket-listeners.js';
import {
  ClosedError,
  InvalidArgumentError,
  InvalidRoomNameError,
  RoomLoadError,
  UnsupportedOperationError,
  UpdateRejectedError,
} from './errors.js';
import { SymphonyEvents } from './events.js';
import { clientAddress } from './http/client-address.js';
import { handshakeHeaderProblem } from './http/handshake-headers.js';
import { originAllowed, originHeader } from './http/origin-check.js';
import { normalizeRoomName, roomNameFromUrl } from './http/room-name.js';
import { UnclaimedUpgrades } from './http/unclaimed-upgrades.js';
import { closeAtOnce, sendRefusal, type UpgradeRefusal } from './http/upgrade-refusal.js';
import { resolveOptions, type ResolvedOptions, type SymphonyLimits, type SymphonyOptions } from './options.js';
import { CloseCode, CloseReason } from './protocol/close-codes.js';
import { heapAboveLimit } from './room/heap-pressure.js';
import { LoadedRoom } from './room/loaded-room.js';
import { FanOutTicker } from './room/fan-out.js';
import type { AuthResult, ConnectionInfo, RoomInfo, ShutdownReport } from './types.js';
import { TimeoutError, withTimeout } from '../util/with-timeout.js';
import { listStoredRooms } from './storage/stored-rooms.js';
import { restoreState } from './versions/restore-content.js';
import { checkVersionLabels, VersionHistory } from './versions/version-history.js';
import type { CreateVersionOptions, RestoreVersionOptions, StoredVersion, VersionInfo } from './versions/version-types.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.js';
import { WebhookEvents } from './webhooks/webhook-events.js';
import type { WebhookStats, WebhookStatus } from './webhooks/webhook-wire-types.js';

/** Totals for dashboards and metrics. Counters only grow; rates are derived by the reader. */
export interface SymphonyStats extends Readonly<Counters> {
  readonly nodeId: string;
  readonly rooms: number;
  /** Loaded rooms served from damaged storage (see `RoomInfo.damaged`). */
  readonly roomsDamaged: number;
  /** Loaded rooms whose updates the store cannot write right now (refused until it recovers). */
  readonly roomsUnwritable: number;
  readonly connections: number;
  readonly uptimeMs: number;
  readonly memory: NodeJS.MemoryUsage;
  /** CPU time of the process since start, in microseconds. */
  readonly cpu: NodeJS.CpuUsage;
  readonly accepting: boolean;
  readonly webhooks: WebhookStats;
}


const shuttingDown: UpgradeRefusal = Object.freeze({ status: 503, message: 'server shutting down' });

/** Which connections `symphony.disconnect()` closes: those matching every field given. */
export interface DisconnectFilter {
  readonly room?: string;
  readonly userId?: string;
  readonly connectionId?: string;
}

function matches(connection: Connection, filter: DisconnectFilter): boolean {
  return (
    (filter.userId === undefined || connection.userId === filter.userId) && (filter.connectionId === undefined || connection.id === filter.connectionId)
  );
}

/** Close codes a server may send (RFC 6455 7.4): the ones with a meaning here, and the private range. */
function isServerCloseCode(code: number): boolean {
  return Number.isInteger(code) && ([1000, 1001, 1008, 1011, 1012, 1013].includes(code) || (code >= 4000 && code <= 4999));
}


/**
 * A Symphony server attached to a host app's HTTP server. Create it with `attachSymphony`.
 */
export class Symphony {
  readonly events = new SymphonyEvents();
  readonly nodeId: string;
  readonly path: string;
  readonly startedAt = new Date();

  private readonly options: ResolvedOptions;
  private readonly counters = createCounters();
  private readonly loadedRooms = new Map<string, LoadedRoom>();
  private readonly liveConnections = new Set<Connection>();
  /** Null when every broadcast is written at once (`fanOut.tickMs: 0`). */
  private readonly fanOutTicker: FanOutTicker | null;
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly handshakes: HandshakeGuard;
  /** Null when unknown upgrades are left to the app (`handleUnknownUpgrades: 'ignore'`). */
  private readonly unclaimedUpgrades: UnclaimedUpgrades | null;
  /** Connections whose credentials expire (`AuthResult.expiresAt`), on one shared timer. */
  private readonly expiries: ExpiryWheel<Connection>;
  private readonly socketListeners = new SocketListeners({
    message: (connection, data) => connection.joined.receive(connection, data),
    pong: (connection) => {
      connection.alive = true;
    },
    error: (connection, error) => this.options.logger.debug({ err: error, room: connection.room, connection: connection.id }, 'socket error'),
    closed: (connection, code, reason) => this.connectionClosed(connection, code, reason),
  });
  private state: 'running' | 'closing' | 'closed' = 'running';
  private closing: Promise<ShutdownReport> | null = null;
  private readonly started: Promise<void>;
  private readonly webhookDispatcher: WebhookDispatcher;
  private readonly webhookEvents: WebhookEvents | null = null;
  private readonly versions: VersionHistory | null;
  /** Rooms being deleted: loading them waits until the deletion is done, so it never loads what is being deleted. */
  private readonly deletions = new Map<string, Promise<boolean>>();

  constructor(
    readonly httpServer: Server,
    options: SymphonyOptions = {},
  ) {
    this.options = resolveOptions(options);
    this.fanOutTicker = this.options.fanOut.tickMs > 0 ? new FanOutTicker(this.options.fanOut.tickMs) : null;
    this.nodeId = this.options.nodeId;
    this.path = this.options.path;
    const { store: versionStore, retention } = this.options.versions;
    this.versions = versionStore ? new VersionHistory(versionStore, retention, this.events, this.options.logger) : null;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.limits.maxMessageBytes,
      // Compression costs more CPU than the bandwidth it saves on small, already compact Yjs messages.
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.expiries = new ExpiryWheel((connection) => this.expireConnection(connection));
    this.handshakes = new HandshakeGuard(this.options.limits.maxPendingHandshakes, this.options.limits.maxConnectionsPerAddress);
    this.unclaimedUpgrades = this.options.handleUnknownUpgrades === 'refuse' ? new UnclaimedUpgrades(httpServer) : null;
    httpServer.on('upgrade', this.handleUpgrade);
    this.heartbeat = setInterval(() => this.checkHeartbeats(), this.options.limits.pingIntervalMs);
    this.heartbeat.unref();
    this.started = Promise.resolve(
      this.options.replicator?.start({
        nodeId: this.nodeId,
        httpServer,
        logger: this.options.logger,
        encodeRoomState: (room) => {
          const loaded = this.loadedRooms.get(room);
          return loaded && loaded.loading === null ? Y.encodeStateAsUpdate(loaded.doc) : null;
        },
        loadedRooms: () => [...this.loadedRooms.keys()],
        dropDeletedRoom: async (room) => {
          const loaded = this.loadedRooms.get(room);
          if (!loaded) return;
          await loaded.loading?.catch(() => undefined);
          await loaded.drop();
        },
      }),
    );
    this.started.catch((error: unknown) => this.options.logger.error({ err: error }, 'cluster replicator failed to start'));
    this.webhookDispatcher = new WebhookDispatcher(this.options.webhooks, this.options.logger);
    if (this.options.webhooks.endpoints.length > 0) {
      const host = { events: this.events, isWriter: (room: string) => this.isWriter(room), documentSummary: (room: string) => this.documentSummary(room) };
      this.webhookEvents = new WebhookEvents(host, this.webhookDispatcher, this.options.webhooks.documentUpdatedIntervalMs, this.options.logger);
    }
  }

  /** False once `close()` was called: the host's health route should then answer 503. */
  get accepting(): boolean {
    return this.state === 'running';
  }

  /** The resource limits in force (defaults applied), e.g. for an HTTP route that takes updates. */
  get limits(): Readonly<Required<SymphonyLimits>> {
    return this.options.limits;
  }

  /** Resolves when the replicator (cluster mode) has started; immediately on a single node. */
  ready(): Promise<void> {
    return this.started;
  }

  // ---- the server-side API ------------------------------------------------------------------

  /** Rooms loaded on this node. */
  rooms(): RoomInfo[] {
    return [...this.loadedRooms.values()].map((room) => room.info());
  }

  /** The named room if it is loaded on this node, else undefined (it may still exist in the store). */
  room(name: string): RoomInfo | undefined {
    return this.loadedRooms.get(name)?.info();
  }

  /** Connections of one room on this node (empty if the room is not loaded). */
  connections(room: string): ConnectionInfo[] {
    const loaded = this.loadedRooms.get(room);
    return loaded ? [...loaded.connections].map((connection) => connection.info()) : [];
  }

  /** Presence states of a loaded room, parsed, keyed by Yjs client id. */
  presence(room: string): Map<number, unknown> {
    return this.loadedRooms.get(room)?.presence.getStates() ?? new Map();
  }

  /** Cluster mode: which node holds which room, cluster-wide (null on a single node). */
  async cluster(): Promise<ClusterView | null> {
    const replicator = this.options.replicator;
    return replicator?.describeCluster ? replicator.describeCluster() : null;
  }

  /**
   * A room's whole state as a Yjs update: from memory when loaded, otherwise from the store
   * (without loading the room). Null for a room that does not exist. With `stateVector` (a Yjs
   * state vector), only what that state vector lacks.
   */
  async readState(room: string, options: { stateVector?: Uint8Array } = {}): Promise<Uint8Array | null> {
    room = normalizeRoomName(room, this.options.limits.maxRoomNameLength);
    const { stateVector } = options;
    const loaded = this.loadedRooms.get(room);
    if (loaded) {
      await loaded.loading;
      return Y.encodeStateAsUpdate(loaded.doc, stateVector);
    }
    const state = await this.options.store.load(room);
    return state !== null && stateVector ? Y.diffUpdate(state, stateVector) : state;
  }

  /** A room's document as JSON (see `documentToJSON`), or null for a room that does not exist. */
  async toJSON(room: string): Promise<Record<string, unknown> | null> {
    const loaded = this.loadedRooms.get(room);
    if (loaded) {
      await loaded.loading;
      return documentToJSON(loaded.doc);
    }
    const state = await this.readState(room);
    if (state === null) return null;
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, state);
      return documentToJSON(doc);
    } finally {
      doc.destroy();
    }
  }

  /**
   * Changes a room's document from host code: loads the room if needed, runs `change` in one
   * transaction (origin `{ kind: 'server', reason }`), relays the result to connected clients and
   * persists it like any client change.
   */
  async change(room: string, change: (doc: Y.Doc) => void, options: { reason?: string } = {}): Promise<void> {
    if (this.state !== 'running') throw new ClosedError('change a document');
    room = normalizeRoomName(room, this.options.limits.maxRoomNameLength);
    const loaded = await this.acquire(room);
    try {
      loaded.applyServerChange(change, options.reason);
    } finally {
      loaded.unhold();
    }
  }

  /**
   * Applies a Yjs update from host code (or the REST API): loads the room if needed, refuses it
   * for exactly the reasons a client's update is refused (throws `UpdateRejectedError`), and
   * otherwise relays, journals and persists it like a client's (origin `{ kind: 'server', reason }`).
   */
  async applyUpdate(room: string, update: Uint8Array, options: { reason?: string } = {}): Promise<void> {
    if (this.state !== 'running') throw new ClosedError('apply an update');
    room = normalizeRoomName(room, this.options.limits.maxRoomNameLength);
    if (!(update instanceof Uint8Array)) throw new InvalidArgumentError('the update must be a Uint8Array', room);
    const loaded = await this.acquire(room);
    try {
      const refusal = loaded.applyHostUpdate(update, options.reason);
      if (refusal) throw new UpdateRejectedError(room, refusal.code, `update refused for room "${room}": ${refusal.closeReason}`, refusal.details.err);
    } finally {
      loaded.unhold();
    }
  }

  /**
   * Rooms that exist in the document store, loaded here or not, in ascending order by name (the
   * store's `list`); `next` is the `after` of the following page, null on the last one. With a
   * store that cannot list, the rooms loaded on this node.
   */
  async storedRooms(options: { prefix?: string; after?: string; limit: number }): Promise<{ rooms: string[]; next: string | null }> {
    return listStoredRooms(this.options.store, () => this.loadedRooms.keys(), options);
  }

  /** True when this node writes the room: always on a single node; in cluster mode, on the holder of its writer lease. */
  isWriter(room: string): boolean {
    const loaded = this.loadedRooms.get(room);
    if (loaded) return loaded.isWriter;
    return this.options.replicator === null;
  }

  /**
   * Writes a named version of the room's current state, loaded or not (a room that does not
   * exist gives a version of an empty document).
   */
  async createVersion(room: string, options: CreateVersionOptions = {}): Promise<VersionInfo> {
    const versions = this.versionHistory(room);
    checkVersionLabels(room, options);
    const state = (await this.readState(room)) ?? Y.encodeStateAsUpdate(new Y.Doc());
    return versions.create(room, state, 'named', { name: options.name, createdBy: options.createdBy });
  }

  /** The room's versions, newest first. */
  async listVersions(room: string): Promise<VersionInfo[]> {
    return this.versionHistory(room).list(room);
  }

  /** One version with its state, or null when the room has no such version. */
  async readVersion(room: string, id: string): Promise<StoredVersion | null> {
    return this.versionHistory(room).read(room, id);
  }

  /**
   * Makes the room's document equal to a version's content as a forward change (origin
   * `{ kind: 'server', reason: 'restore <id>' }`): relayed live, journaled, undoable, no history
   * erased. Resolves to the version restored, or null when the room has no such version.
   */
  async restoreVersion(room: string, id: string, options: RestoreVersionOptions = {}): Promise<VersionInfo | null> {
    if (this.state !== 'running') throw new ClosedError('restore a version');
    checkVersionLabels(room, options);
    const version = await this.versionHistory(room).read(room, id);
    if (!version) return null;
    const loaded = await this.acquire(room);
    try {
      restoreState(loaded, version.state, `restore ${id}`);
    } finally {
      loaded.unhold();
    }
    this.options.logger.info({ room, version: id, restoredBy: options.restoredBy }, 'version restored');
    return version.info;
  }

  /**
   * Deletes a room: closes its connections with 4410 (every node in cluster mode), deletes its
   * document, journal and versions. The room is empty afterwards. Resolves to true if anything existed.
   */
  deleteRoom(room: string): Promise<boolean> {
    if (this.state !== 'running') return Promise.reject(new ClosedError('delete a room'));
    try {
      room = normalizeRoomName(room, this.options.limits.maxRoomNameLength);
      if (!this.options.store.delete) throw new UnsupportedOperationError('the document store cannot delete rooms (it has no "delete" method)', room);
    } catch (error) {
      return Promise.reject(error);
    }
    let deletion = this.deletions.get(room);
    if (!deletion) {
      deletion = this.deleteEverywhere(room).finally(() => this.deletions.delete(room));
      this.deletions.set(room, deletion);
    }
    return deletion;
  }

  private async deleteEverywhere(room: string): Promise<boolean> {
    let existed = false;
    const loaded = this.loadedRooms.get(room);
    if (loaded) {
      await loaded.loading?.catch(() => undefined);
      await loaded.drop();
      existed = true;
    }
    const deleteStored = async () => {
      if (this.versions && (await this.versions.deleteAll(room))) existed = true;
      if (await this.options.store.delete!(room)) existed = true;
    };
    // In cluster mode the other nodes drop the room first, so none of them writes it back.
    const replicator = this.options.replicator;
    if (replicator?.deleteRoom) await replicator.deleteRoom(room, deleteStored);
    else await deleteStored();
    this.options.logger.info({ room, existed }, 'room deleted');
    this.events.emit('roomDeleted', { room });
    return existed;
  }

  private versionHistory(room: string): VersionHistory {
    room = normalizeRoomName(room, this.options.limits.maxRoomNameLength);
    if (!this.versions) throw new UnsupportedOperationError('version history is off: the document store has no version store beside it (see the "versions.store" option)', room);
    return this.versions;
  }

  /** Webhooks: the endpoints (without their secrets), delivery totals and the recent deliveries, newest first. */
  webhooks(): WebhookStatus {
    return this.webhookDispatcher.status();
  }

  /** Totals since start: rooms, connections, messages, checkpoints and their failures, memory, uptime. */
  stats(): SymphonyStats {
    let roomsDamaged = 0;
    let roomsUnwritable = 0;
    for (const room of this.loadedRooms.values()) {
      if (room.damaged) roomsDamaged++;
      if (!room.storageWritable) roomsUnwritable++;
    }
    return {
      ...this.counters,
      nodeId: this.nodeId,
      rooms: this.loadedRooms.size,
      roomsDamaged,
      roomsUnwritable,
      connections: this.liveConnections.size,
      uptimeMs: Date.now() - this.startedAt.getTime(),
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
      accepting: this.accepting,
      webhooks: this.webhookDispatcher.stats(),
    };
  }

  /**
   * Graceful shutdown: stop accepting, checkpoint every room, close every socket with 1012
   * (clients reconnect, to another node behind a load balancer), unload the rooms and close the
   * store. Resolves to the rooms whose changes could not be stored anywhere (logged at error
   * level and emitted as `closed`); a host should exit non-zero when there are any. Safe to call
   * more than once.
   */
  close(): Promise<ShutdownReport> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<ShutdownReport> {
    this.state = 'closing';
    clearInterval(this.heartbeat);
    this.expiries.stop();
    this.fanOutTicker?.stop();
    const rooms = [...this.loadedRooms.values()];
    await Promise.all(rooms.map((room) => room.loading?.catch(() => undefined)));
    await Promise.all(rooms.map((room) => room.checkpoint()));
    // The rooms are unloaded below, once the replicator found each a writer for its final
    // checkpoint: none may unload on its own meanwhile, as its sockets close.
    for (const room of rooms) room.hold();
    await this.closeAllConnections();
    try {
      await this.options.replicator?.prepareToClose?.();
    } catch (error) {
      this.options.logger.error({ err: error }, 'the replicator failed to prepare the final checkpoints; unloading the rooms anyway');
    }
    for (const room of rooms) room.unhold();
    const notCheckpointed: string[] = [];
    for (const room of this.loadedRooms.values()) {
      const unloaded = await room.unload();
      if (!unloaded) {
        notCheckpointed.push(room.name);
        room.stopTimers();
      }
    }
    // Before the store closes: a coalesced document.updated still waiting reads the saved state.
    await this.webhookEvents?.close();
    await this.webhookDispatcher.close();
    this.httpServer.off('upgrade', this.handleUpgrade);
    this.unclaimedUpgrades?.close();
    // Rooms that were unloading on their own may still be writing a version.
    await this.versions?.idle();
    await this.options.replicator?.close();
    const { store, logger } = this.options;
    await store.close?.();
    this.wss.close();
    this.state = 'closed';
    const report = { unstoredRooms: unstoredRooms(notCheckpointed, store) };
    for (const room of notCheckpointed) {
      if (!report.unstoredRooms.includes(room)) logger.error({ room }, 'room could not be checkpointed at shutdown; its journal keeps the changes');
    }
    if (report.unstoredRooms.length > 0) {
      logger.error({ rooms: report.unstoredRooms }, 'changes of these rooms are neither checkpointed nor journaled: they are lost when the process exits');
    }
    this.events.emit('closed', report);
    return report;
  }

  /** Closes every socket with 1012; `Connection.close` drops those that do not finish the handshake in time. */
  private async closeAllConnections(): Promise<void> {
    const closed = [...this.liveConnections].map((connection) => {
      const done = once(connection.socket, 'close').then(() => undefined);
      connection.close(CloseCode.serviceRestart, CloseReason.serviceRestart);
      return done;
    });
    await Promise.all(closed);
  }

  // ---- connections --------------------------------------------------------------------------

  /**
   * Closes this node's connections that match every given field (none given: all of them), with
   * 4401 by default, so that SDK clients fetch a fresh token and reconnect and `authenticate`
   * decides again (revoked access, a changed role). Returns how many connections it closed.
   */
  disconnect(filter: DisconnectFilter = {}, options: { code?: number; reason?: string } = {}): number {
    const code = options.code ?? CloseCode.authRevoked;
    if (!isServerCloseCode(code)) throw new RangeError(`close code must be 1000, 1001, 1008, 1011–1013 or 4000–4999, got ${String(code)}`);
    const reason = options.reason ?? (code === CloseCode.authRevoked ? CloseReason.authRevoked : '');
    if (Buffer.byteLength(reason) > 123) throw new RangeError('close reason must be at most 123 bytes of UTF-8');
    const candidates = filter.room === undefined ? this.liveConnections : (this.loadedRooms.get(filter.room)?.connections ?? []);
    let closed = 0;
    for (const connection of candidates) {
      if (connection.closed || !matches(connection, filter)) continue;
      connection.close(code, reason);
      closed++;
    }
    if (closed > 0) this.options.logger.info({ ...filter, code, reason, closed }, 'connections disconnected');
    return closed;
  }

  /** One listener for every upgrading socket (none capturing its room), dropped once ws listens to the socket itself. */
  private readonly upgradeSocketError = (error: Error): void => this.options.logger.debug({ err: error }, 'socket error during upgrade');

  private readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let room: string | null;
    try {
      room = roomNameFromUrl(request.url, this.path, this.options.limits.maxRoomNameLength);
    } catch (error) {
      this.refuse(request, socket, head, { status: 400, message: error instanceof InvalidRoomNameError ? error.message : 'invalid request' });
      return;
    }
    if (room === null) {
      this.unclaimedUpgrades?.watch(socket);
      return;
    }
    socket.on('error', this.upgradeSocketError);
    this.admit(request, socket, head, room).catch((error: unknown) => {
      this.options.logger.error({ err: error, room }, 'upgrade failed');
      socket.destroy();
    });
  };

  /**
   * The handshake: everything that can be checked without cost is checked before anything is
   * taken (a handshake slot, an `authenticate` call, the room), and whatever was taken is released
   * on every path that does not end in an open connection.
   */
  private async admit(request: IncomingMessage, socket: Duplex, head: Buffer, roomName: string): Promise<void> {
    const { logger, limits } = this.options;
    const problem = this.screen(request, roomName);
    if (problem) return this.refuse(request, socket, head, problem);
    const address = clientAddress(request, this.options.trustProxy);
    const ticket = this.handshakes.enter(address);
    if (ticket === 'too-many-handshakes') {
      logger.warn({ room: roomName, pending: this.handshakes.pendingHandshakes }, 'connection refused: too many handshakes in progress (limits.maxPendingHandshakes)');
      return this.refuse(request, socket, head, { status: 503, message: 'too many handshakes in progress', headers: { 'Retry-After': '1' } });
    }
    if (ticket === 'too-many-connections-from-address') {
      logger.info({ room: roomName, address }, 'connection refused: too many connections from one address (limits.maxConnectionsPerAddress)');
      return this.refuse(request, socket, head, { status: 429, message: 'too many connections from this address' });
    }
    let room: LoadedRoom | null = null;
    let opened = false;
    try {
      const decision = await authenticateUpgrade(request, roomName, {
        hook: this.options.hooks.authenticate,
        timeoutMs: limits.authenticateTimeoutMs,
        refuseWithCloseCode: this.options.refuseWithCloseCode,
        logger,
      });
      if ('refusal' in decision) return this.refuse(request, socket, head, decision.refusal);
      if (socket.destroyed || this.state !== 'running') return this.refuse(request, socket, head, shuttingDown);
      if (!this.loadedRooms.has(roomName) && heapAboveLimit(limits.maxHeapUsedPercent)) {
        logger.warn({ room: roomName, heapUsed: process.memoryUsage().heapUsed }, 'connection refused: the heap is above limits.maxHeapUsedPercent, no new room is loaded');
        return this.refuse(request, socket, head, { status: 503, message: 'server low on memory', headers: { 'Retry-After': '5' } });
      }
      try {
        room = await this.acquireWithin(roomName, limits.roomLoadTimeoutMs);
      } catch (error) {
        const timedOut = error instanceof TimeoutError;
        logger.error({ room: roomName, err: error }, timedOut ? 'connection refused: the room took too long to load (limits.roomLoadTimeoutMs)' : 'connection refused: room failed to load');
        return this.refuse(request, socket, head, { status: 503, message: timedOut ? 'room load timed out' : 'room failed to load', headers: { 'Retry-After': '5' } });
      }
      if (room.wasDeleted) {
        // `deleteRoom` dropped the room while this join waited for it: it must not open a new one.
        return this.refuse(request, socket, head, { status: 410, message: CloseReason.roomDeleted, closeCode: CloseCode.roomDeleted });
      }
      if (socket.destroyed || this.state !== 'running') return this.refuse(request, socket, head, shuttingDown);
      // Checked right before the socket opens, with nothing asynchronous in between.
      if (room.connections.size >= limits.maxConnectionsPerRoom) {
        return this.refuse(request, socket, head, { status: 503, message: CloseReason.roomFull, closeCode: CloseCode.roomFull });
      }
      const loaded = room;
      let settled = false;
      // Without `verifyClient`, ws calls back before `handleUpgrade` returns, or never (it refused).
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        if (settled) return closeAtOnce(ws, CloseCode.internalError, CloseReason.internalError);
        opened = true;
        ticket.handshakeDone();
        // The connection takes the room's hold over.
        room = null;
        this.attach(ws, socket, loaded, decision.auth, decision.expiresAtMs, address, ticket);
      });
      settled = true;
      if (!opened) {
        // ws refused a handshake `screen` let through: nothing is left to answer, but it counts.
        this.counters.connectionsRejected++;
        logger.warn({ room: roomName }, 'connection refused by ws after the handshake was checked');
      }
    } finally {
      // `room` is still set, and `opened` false, unless a connection took the hold and the ticket over.
      room?.unhold();
      if (!opened) ticket.release();
    }
  }

  /** The checks that cost nothing: the server state, the handshake headers, the origin. */
  private screen(request: IncomingMessage, roomName: string): UpgradeRefusal | null {
    if (this.state !== 'running') return shuttingDown;
    const problem = handshakeHeaderProblem(request);
    if (problem) return problem;
    if (!originAllowed(request, this.options.allowedOrigins)) {
      this.options.logger.warn(
        { room: roomName, origin: originHeader(request), host: request.headers.host },
        'connection refused: origin not allowed (list it in the "allowedOrigins" option)',
      );
      return { status: 403, message: 'origin not allowed' };
    }
    return null;
  }

  /** The one way an upgrade is refused: counted, then answered over HTTP or with a close code. */
  private refuse(request: IncomingMessage, socket: Duplex, head: Buffer, refusal: UpgradeRefusal): void {
    this.counters.connectionsRejected++;
    sendRefusal(this.wss, request, socket, head, refusal);
  }

  private attach(
    ws: WebSocket,
    transport: Duplex,
    room: LoadedRoom,
    auth: AuthResult,
    expiresAtMs: number | null,
    address: string | undefined,
    ticket: HandshakeTicket,
  ): void {
    transport.off('error', this.upgradeSocketError);
    const connection = new Connection(ws, transport, room, auth, ticket, this.options.limits.maxBufferedBytes, address);
    this.liveConnections.add(connection);
    this.counters.connectionsOpened++;
    if (expiresAtMs !== null) this.expiries.add(connection, expiresAtMs);
    this.socketListeners.listen(ws, connection);
    room.addConnection(connection);
    this.announceConnection(connection, null);
  }

  private connectionClosed(connection: Connection, code: number, reason: Buffer): void {
    connection.closed = true;
    this.liveConnections.delete(connection);
    this.expiries.delete(connection);
    connection.ticket.release();
    connection.joined.removeConnection(connection);
    this.announceConnection(connection, { code: connection.closeCode ?? code, reason: reason.toString() });
  }

  /** The event and hook of an opened or closed connection, with a snapshot made for them only (an idle connection keeps none). */
  private announceConnection(connection: Connection, close: { code: number; reason: string } | null): void {
    const info = connection.info();
    const room = connection.room;
    if (close === null) {
      this.events.emit('connectionOpened', info);
      this.runHook('onConnect', () => this.options.hooks.onConnect?.({ room, connection: info }));
    } else {
      this.events.emit('connectionClosed', info, close);
      this.runHook('onDisconnect', () => this.options.hooks.onDisconnect?.({ room, connection: info, ...close }));
    }
  }

  private expireConnection(connection: Connection): void {
    this.options.logger.info({ room: connection.room, connection: connection.id, userId: connection.userId }, 'closing a connection whose credentials expired');
    connection.close(CloseCode.authRevoked, CloseReason.authExpired);
  }

  private checkHeartbeats(): void {
    for (const connection of this.liveConnections) {
      if (!connection.alive) {
        this.options.logger.info({ room: connection.room, connection: connection.id }, 'terminating a connection that missed its heartbeat');
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  // ---- rooms --------------------------------------------------------------------------------

  /** The room, loaded once however many connections ask for it at the same time, and held until `unhold()`. */
  private async acquire(name: string): Promise<LoadedRoom> {
    for (;;) {
      const room = await this.acquireOnce(name);
      if (!room.wasDeleted) return room;
      // Deleted while we waited for it to load: the next one starts empty.
      room.unhold();
    }
  }

  private async acquireOnce(name: string): Promise<LoadedRoom> {
    while (this.deletions.has(name)) await this.deletions.get(name)!.catch(() => undefined);
    let room = this.loadedRooms.get(name);
    if (!room) {
      const created = new LoadedRoom(name, {
        options: this.options,
        events: this.events,
        counters: this.counters,
        fanOutTicker: this.fanOutTicker,
        versions: this.versions,
        onUnloaded: (unloaded) => {
          if (this.loadedRooms.get(unloaded.name) === unloaded) this.loadedRooms.delete(unloaded.name);
        },
      });
      room = created;
      this.loadedRooms.set(name, created);
      created.loading = this.started
        .then(() => created.load())
        .then(
          () => {
            created.loading = null;
            this.events.emit('roomLoaded', created.info());
          },
          (cause: unknown) => {
            this.counters.roomLoadFailures++;
            if (this.loadedRooms.get(name) === created) this.loadedRooms.delete(name);
            created.discard();
            throw new RoomLoadError(name, cause);
          },
        );
    }
    room.hold();
    try {
      await room.loading;
    } catch (error) {
      room.unhold();
      throw error;
    }
    return room;
  }

  /**
   * `acquire`, waiting at most `timeoutMs`. A load that finishes later still completes (the next
   * client finds the room loaded); its hold is released then, never while the load runs.
   */
  private acquireWithin(name: string, timeoutMs: number): Promise<LoadedRoom> {
    return withTimeout(this.acquire(name), timeoutMs, `loading room "${name}"`, (late) => late.unhold());
  }

  /** Size and state vector of a room's document for `document.updated`: from memory when loaded, else from the store. */
  private async documentSummary(room: string): Promise<{ documentBytes: number; stateVector: Uint8Array } | null> {
    const loaded = this.loadedRooms.get(room);
    if (loaded && loaded.loading === null) return { documentBytes: loaded.info().documentBytes, stateVector: Y.encodeStateVector(loaded.doc) };
    const state = await this.options.store.load(room);
    return state === null ? null : { documentBytes: state.byteLength, stateVector: Y.encodeStateVectorFromUpdate(state) };
  }

  private runHook(name: string, hook: () => void | Promise<void>): void {
    try {
      void Promise.resolve(hook()).catch((error: unknown) => this.options.logger.error({ err: error, hook: name }, 'hook failed'));
    } catch (error) {
      this.options.logger.error({ err: error, hook: name }, 'hook failed');
    }
  }
}

/**
 * Rooms whose changes exist only in memory after the last checkpoints: those the checkpoint
 * missed, unless the store journals and has written every update, and those whose journal
 * writes failed.
 */
function unstoredRooms(notCheckpointed: readonly string[], store: ResolvedOptions['store']): string[] {
  const unwritten = store.unwrittenRooms?.() ?? [];
  const unjournaled = store.append ? notCheckpointed.filter((room) => unwritten.includes(room)) : notCheckpointed;
  return [...new Set([...unjournaled, ...unwritten])].sort();
}

/**
 * Mounts Symphony's WebSocket endpoint (the y-websocket protocol) into an existing HTTP server:
 * `http.createServer(app)` for Express, `createKoaServer(app)` from `symphony-collab/koa` for Koa (Koa's
 * own `app.listen()` never reaches middleware added after it, such as the health route).
 */
export function attachSymphony(httpServer: Server, options: SymphonyOptions = {}): Symphony {
  return new Symphony(httpServer, options);
}
