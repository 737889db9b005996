import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import * as Y from 'yjs';
import type { ClusterView } from './replicator.js';
import { Connection } from './connection/connection.js';
import { createCounters, type Counters } from './counters.js';
import { documentToJSON } from './document/to-json.js';
import { AuthenticationError, ClosedError, InvalidRoomNameError, RoomLoadError } from './errors.js';
import { SymphonyEvents } from './events.js';
import { rejectUpgrade } from './http/reject-upgrade.js';
import { roomNameFromUrl, tokenFromUrl, validateRoomName } from './http/room-name.js';
import { resolveOptions, type ResolvedOptions, type SymphonyOptions } from './options.js';
import { CloseCode, CloseReason } from './protocol/close-codes.js';
import { heapAboveLimit } from './room/heap-pressure.js';
import { LoadedRoom } from './room/loaded-room.js';
import type { AuthResult, ConnectionInfo, RoomInfo } from './types.js';

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

  constructor(
    readonly httpServer: Server,
    options: SymphonyOptions = {},
  ) {
    this.options = resolveOptions(options);
    this.nodeId = this.options.nodeId;
    this.path = this.options.path;
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
      }),
    );
    this.started.catch((error: unknown) => this.options.logger.error({ err: error }, 'cluster replicator failed to start'));
  }

  /** False once `close()` was called: the host's health route should then answer 503. */
  get accepting(): boolean {
    return this.state === 'running';
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
   * (without loading the room). Null for a room that does not exist.
   */
  async readState(room: string): Promise<Uint8Array | null> {
    validateRoomName(room, this.options.limits.maxRoomNameLength);
    const loaded = this.loadedRooms.get(room);
    if (loaded) {
      await loaded.loading;
      return Y.encodeStateAsUpdate(loaded.doc);
    }
    return this.options.store.load(room);
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
    this.httpServer.off('upgrade', this.handleUpgrade);
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
    if (!this.loadedRooms.has(roomName) && heapAboveLimit(this.options.limits.maxHeapUsedPercent)) {
      this.counters.connectionsRejected++;
      logger.warn({ room: roomName, heapUsed: process.memoryUsage().heapUsed }, 'connection refused: the heap is above limits.maxHeapUsedPercent, no new room is loaded');
      return rejectUpgrade(socket, 503, 'server low on memory');
    }
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
    let room = this.loadedRooms.get(name);
    if (!room) {
      const created = new LoadedRoom(name, {
        options: this.options,
        events: this.events,
        counters: this.counters,
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

  private runHook(name: string, hook: () => void | Promise<void>): void {
    try {
      void Promise.resolve(hook()).catch((error: unknown) => this.options.logger.error({ err: error, hook: name }, 'hook failed'));
    } catch (error) {
      this.options.logger.error({ err: error, hook: name }, 'hook failed');
    }
  }
}

/**
 * Mounts Symphony's WebSocket endpoint (the y-websocket protocol) into an existing HTTP server,
 * such as the one `app.listen()` returns in Express or Koa.
 */
export function attachSymphony(httpServer: Server, options: SymphonyOptions = {}): Symphony {
  return new Symphony(httpServer, options);
}
