import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import * as Y from 'yjs';
import type { ClusterView } from './replicator.js';
import { Connection } from './connection/connection.js';
import { createCounters, type Counters } from './counters.js';
import { documentToJSON } from './document/to-json.js';
import {
  AuthenticationError,
  ClosedError,
  InvalidArgumentError,
  InvalidRoomNameError,
  RoomLoadError,
  UnsupportedOperationError,
  UpdateRejectedError,
} from './errors.js';
import { SymphonyEvents } from './events.js';
import { rejectUpgrade } from './http/reject-upgrade.js';
import { roomNameFromUrl, tokenFromUrl, validateRoomName } from './http/room-name.js';
import { resolveOptions, type ResolvedOptions, type SymphonyLimits, type SymphonyOptions } from './options.js';
import { CloseCode, CloseReason } from './protocol/close-codes.js';
import { LoadedRoom } from './room/loaded-room.js';
import type { AuthResult, ConnectionInfo, RoomInfo } from './types.js';
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
  readonly connections: number;
  readonly uptimeMs: number;
  readonly memory: NodeJS.MemoryUsage;
  /** CPU time of the process since start, in microseconds. */
  readonly cpu: NodeJS.CpuUsage;
  readonly accepting: boolean;
  readonly webhooks: WebhookStats;
}


const anonymous: AuthResult = Object.freeze({ userId: 'anonymous' });


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
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  private state: 'running' | 'closing' | 'closed' = 'running';
  private closing: Promise<void> | null = null;
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
    validateRoomName(room, this.options.limits.maxRoomNameLength);
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
    validateRoomName(room, this.options.limits.maxRoomNameLength);
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
    validateRoomName(room, this.options.limits.maxRoomNameLength);
    if (!(update instanceof Uint8Array)) throw new InvalidArgumentError('the update must be a Uint8Array', room);
    const loaded = await this.acquire(room);
    try {
      const refusal = loaded.applyHostUpdate(update, options.reason);
      if (refusal) throw new UpdateRejectedError(room, refusal.code, `update refused for room "${room}": ${refusal.message}`, refusal.cause);
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
      validateRoomName(room, this.options.limits.maxRoomNameLength);
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
    // Other nodes first: they unload without saving, so none of them writes the room back.
    await this.options.replicator?.deleteRoom?.(room);
    if (this.versions && (await this.versions.deleteAll(room))) existed = true;
    if (await this.options.store.delete!(room)) existed = true;
    this.options.logger.info({ room, existed }, 'room deleted');
    this.events.emit('roomDeleted', { room });
    return existed;
  }

  private versionHistory(room: string): VersionHistory {
    validateRoomName(room, this.options.limits.maxRoomNameLength);
    if (!this.versions) throw new UnsupportedOperationError('version history is off: the document store has no version store beside it (see the "versions.store" option)', room);
    return this.versions;
  }

  /** Webhooks: the endpoints (without their secrets), delivery totals and the recent deliveries, newest first. */
  webhooks(): WebhookStatus {
    return this.webhookDispatcher.status();
  }

  /** Totals since start: rooms, connections, messages, checkpoints and their failures, memory, uptime. */
  stats(): SymphonyStats {
    return {
      ...this.counters,
      nodeId: this.nodeId,
      rooms: this.loadedRooms.size,
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
   * store. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    clearInterval(this.heartbeat);
    const rooms = [...this.loadedRooms.values()];
    await Promise.all(rooms.map((room) => room.loading?.catch(() => undefined)));
    await Promise.all(rooms.map((room) => room.checkpoint()));
    await this.closeAllConnections();
    for (const room of this.loadedRooms.values()) {
      const unloaded = await room.unload();
      if (!unloaded) {
        this.options.logger.error({ room: room.name }, 'room could not be saved at shutdown; its journal keeps the changes');
        room.stopTimers();
      }
    }
    // Before the store closes: a coalesced document.updated still waiting reads the saved state.
    await this.webhookEvents?.close();
    await this.webhookDispatcher.close();
    this.httpServer.off('upgrade', this.handleUpgrade);
    // Rooms that were unloading on their own may still be writing a version.
    await this.versions?.idle();
    await this.options.replicator?.close();
    await this.options.store.close?.();
    this.wss.close();
    this.state = 'closed';
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

  private readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let room: string | null;
    try {
      room = roomNameFromUrl(request.url, this.path, this.options.limits.maxRoomNameLength);
    } catch (error) {
      this.counters.connectionsRejected++;
      rejectUpgrade(socket, 400, error instanceof InvalidRoomNameError ? error.message : 'invalid request');
      return;
    }
    if (room === null) return;
    socket.on('error', (error) => this.options.logger.debug({ err: error, room }, 'socket error during upgrade'));
    void this.admit(request, socket, head, room);
  };

  private async admit(request: IncomingMessage, socket: Duplex, head: Buffer, roomName: string): Promise<void> {
    const { logger, hooks } = this.options;
    if (this.state !== 'running') {
      this.counters.connectionsRejected++;
      return rejectUpgrade(socket, 503, 'server shutting down');
    }
    let auth: AuthResult;
    try {
      auth = hooks.authenticate ? await hooks.authenticate({ request, room: roomName, token: tokenFromUrl(request.url) }) : anonymous;
      if (!auth || typeof auth.userId !== 'string') throw new TypeError('authenticate must resolve to { userId: string }');
    } catch (error) {
      this.counters.connectionsRejected++;
      const status = error instanceof AuthenticationError ? error.status : 401;
      logger.info({ room: roomName, status, err: error }, 'connection refused by authenticate');
      return rejectUpgrade(socket, status, status === 403 ? 'forbidden' : 'unauthorized');
    }
    if (this.state !== 'running') return rejectUpgrade(socket, 503, 'server shutting down');
    let room: LoadedRoom;
    try {
      room = await this.acquire(roomName);
    } catch (error) {
      this.counters.connectionsRejected++;
      logger.error({ room: roomName, err: error }, 'connection refused: room failed to load');
      return rejectUpgrade(socket, 503, 'room failed to load');
    }
    if (socket.destroyed || this.state !== 'running') {
      room.unhold();
      return rejectUpgrade(socket, 503, 'server shutting down');
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      if (room.wasDeleted) {
        room.unhold();
        ws.close(CloseCode.roomDeleted, CloseReason.roomDeleted);
        return;
      }
      if (room.connections.size >= this.options.limits.maxConnectionsPerRoom) {
        room.unhold();
        this.counters.connectionsRejected++;
        ws.close(CloseCode.roomFull, CloseReason.roomFull);
        return;
      }
      this.attach(ws, socket, request, room, auth);
    });
  }

  private attach(ws: WebSocket, transport: Duplex, request: IncomingMessage, room: LoadedRoom, auth: AuthResult): void {
    const connection = new Connection(ws, transport, room.name, auth, request, this.options.limits.maxBufferedBytes);
    this.liveConnections.add(connection);
    this.counters.connectionsOpened++;
    ws.on('message', (data: RawData) => room.receive(connection, data as Buffer));
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('error', (error) => this.options.logger.debug({ err: error, room: room.name, connection: connection.id }, 'socket error'));
    ws.once('close', (code, reason) => {
      connection.closed = true;
      this.liveConnections.delete(connection);
      room.removeConnection(connection);
      const info = connection.info();
      const close = { code: connection.closeCode ?? code, reason: reason.toString() };
      this.events.emit('connectionClosed', info, close);
      this.runHook('onDisconnect', () => this.options.hooks.onDisconnect?.({ room: room.name, connection: info, ...close }));
    });
    room.addConnection(connection);
    const info = connection.info();
    this.events.emit('connectionOpened', info);
    this.runHook('onConnect', () => this.options.hooks.onConnect?.({ room: room.name, connection: info }));
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
 * Mounts Symphony's WebSocket endpoint (the y-websocket protocol) into an existing HTTP server:
 * `http.createServer(app)` for Express, `createKoaServer(app)` from `symphony/koa` for Koa (Koa's
 * own `app.listen()` never reaches middleware added after it, such as the health route).
 */
export function attachSymphony(httpServer: Server, options: SymphonyOptions = {}): Symphony {
  return new Symphony(httpServer, options);
}
