import { ConfigurationError } from '../../core/errors.js';
import { childLogger, type Logger } from '../../core/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { ClusterView, ReplicaMembership, ReplicatorNode, RoomReplica, RoomReplicator } from '../../core/replicator.js';
import type { RoomBus, RoomBusListener } from './room-bus.js';
import { RoomLink } from './room-link.js';
import type { RoomEntry, RoomRegistry } from './room-registry.js';
import { nonNegativeInteger, positiveInteger, urlWithScheme } from '../../util/config-checks.js';
import { checkNodeId } from '../../util/node-id.js';
import { fetchRoomState, holdsRoom, serveRoomState } from './state-handoff.js';

/** Options of `ClusterReplicator`: the bus and registry it coordinates through, and its timings. */
export interface ClusterReplicatorOptions {
  /** The rooms' durable logs and fan-out channels (Redis). */
  bus: RoomBus;
  /** Which node holds which room, and who writes it (DynamoDB). */
  registry: RoomRegistry;
  /**
   * The same document store Symphony checkpoints to (S3): read to catch up after a trim, and when
   * this node becomes a room's writer; tracks the version of each room's document so that a writer
   * that lost its lease cannot overwrite a newer checkpoint.
   */
  store: CheckpointStore;
  /** This node's internal URL, where peers fetch room states (e.g. `http://10.0.1.23:3000`). */
  nodeUrl: string;
  /** Shared by every node; authenticates state requests between them. At least 16 characters. */
  secret: string;
  /**
   * How long a node waits for a peer's state before trying the next holder (and finally the
   * store), in milliseconds. A hung peer must not hold a room's load hostage.
   * @default 3_000
   */
  handoffTimeoutMs?: number;
  /**
   * How often a node compares notes with the others for each room it holds, in milliseconds: it
   * publishes its state vector (peers send back what it lacks) and checks the log's head (missed
   * messages are read back from the log). Bounds how long a lost pub/sub message goes unnoticed.
   * @default 5_000
   */
  syncIntervalMs?: number;
  /**
   * How often a node refreshes its registry entries and renews the writer leases it holds, in
   * milliseconds. Registry entries older than three intervals are ignored (see the registry's
   * `staleAfterMs`).
   * @default 10_000
   */
  leaseRenewalIntervalMs?: number;
  /**
   * How long a writer lease lasts unless renewed, in milliseconds: after a writer dies, its rooms
   * go at most this long (plus a heartbeat) without checkpoints, their updates safe in the log.
   * Must be at least twice `leaseRenewalIntervalMs`, so a healthy writer always renews in time.
   * @default 30_000
   */
  leaseDurationMs?: number;
  /**
   * How long a stopping node may wait, in milliseconds, for the writer lease of a room it holds
   * when no live node writes it (its writer died and its lease has not expired yet), so that the
   * last node to stop still leaves the room in the store. A writer known to be dead (its registry
   * entry stale) is taken over as soon as it is. The default lets any lease expire, but waits at
   * most 20 s: that leaves 10 s of the CDK construct's 30 s stop timeout (`shutdownTimeout`) for
   * the final checkpoints. Raise both together to cover a writer that died just before.
   * @default min(leaseDurationMs, 20_000)
   */
  closeLeaseWaitMs?: number;
  /**
   * How long `symphony.deleteRoom` waits for the other holders of the room to drop it, in
   * milliseconds, before it deletes the stored state anyway. Dropping takes a pub/sub message and
   * a registry write, well under a second; a holder silent for longer is dead or cut off.
   * @default 10_000
   */
  deleteTimeoutMs?: number;
}

/** The longest default wait for a dead writer's lease at shutdown (see `closeLeaseWaitMs`). */
const DEFAULT_MAX_CLOSE_LEASE_WAIT_MS = 20_000;
/** How often `deleteRoom` repeats its message and looks for holders that still have the room. */
const DELETE_POLL_INTERVAL_MS = 100;

/** Lease renewals and registrations in flight at once, so a node with many rooms does not burst. */
const HEARTBEAT_CONCURRENCY = 16;

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

/**
 * Cluster mode's `RoomReplicator`: rooms shared by many nodes through a Redis log and channel per
 * room, a DynamoDB registry of holders and writer leases, and state hand-off between peers.
 *
 * Loading a room: subscribe (buffering), ask the registry for live holders, fetch the state from
 * one of them (timeout, next on failure); with none, read the log's tail and let the core load
 * the store; then apply the tail and the buffered messages, register, and try for the lease.
 */
export class ClusterReplicator implements RoomReplicator {
  private readonly bus: RoomBus;
  private readonly registry: RoomRegistry;
  private readonly store: CheckpointStore;
  private readonly nodeUrl: string;
  private readonly secret: string;
  private readonly handoffTimeoutMs: number;
  private readonly syncIntervalMs: number;
  private readonly leaseRenewalIntervalMs: number;
  private readonly leaseDurationMs: number;
  private readonly closeLeaseWaitMs: number;
  private readonly deleteTimeoutMs: number;
  private node: ReplicatorNode | null = null;
  private logger: Logger | null = null;
  private readonly links = new Map<string, RoomLink>();
  /** Updates of rooms that left before their append succeeded; retried until Redis takes them. */
  private orphans: { room: string; update: Uint8Array }[] = [];
  private timers: NodeJS.Timeout[] = [];
  private restoreRequestListeners: (() => void) | null = null;
  private heartbeatRunning = false;
  private syncRunning = false;

  constructor(options: ClusterReplicatorOptions) {
    if (!options?.bus || !options.registry || !options.store) throw new ConfigurationError('ClusterReplicator needs "bus", "registry" and "store"');
    urlWithScheme('ClusterReplicator "nodeUrl" (this node\'s internal URL)', options.nodeUrl, ['http:', 'https:'], 'http://10.0.1.23:3000');
    if (typeof options.secret !== 'string' || options.secret.length < 16) {
      throw new ConfigurationError('ClusterReplicator "secret" must be a shared secret of at least 16 characters');
    }
    this.bus = options.bus;
    this.registry = options.registry;
    this.store = options.store;
    this.nodeUrl = options.nodeUrl.replace(/\/+$/, '');
    this.secret = options.secret;
    this.handoffTimeoutMs = positiveInteger('handoffTimeoutMs', options.handoffTimeoutMs ?? 3_000);
    this.syncIntervalMs = positiveInteger('syncIntervalMs', options.syncIntervalMs ?? 5_000);
    this.leaseRenewalIntervalMs = positiveInteger('leaseRenewalIntervalMs', options.leaseRenewalIntervalMs ?? 10_000);
    this.leaseDurationMs = positiveInteger('leaseDurationMs', options.leaseDurationMs ?? 30_000);
    if (this.leaseDurationMs < 2 * this.leaseRenewalIntervalMs) {
      throw new ConfigurationError(`"leaseDurationMs" (${this.leaseDurationMs}) must be at least twice "leaseRenewalIntervalMs" (${this.leaseRenewalIntervalMs})`);
    }
    this.closeLeaseWaitMs = nonNegativeInteger('closeLeaseWaitMs', options.closeLeaseWaitMs ?? Math.min(this.leaseDurationMs, DEFAULT_MAX_CLOSE_LEASE_WAIT_MS));
    this.deleteTimeoutMs = positiveInteger('deleteTimeoutMs', options.deleteTimeoutMs ?? 10_000);
  }

  async start(node: ReplicatorNode): Promise<void> {
    checkNodeId(node.nodeId, 'a cluster node id');
    this.node = node;
    this.logger = childLogger(node.logger, { component: 'cluster' });
    this.restoreRequestListeners = serveRoomState(node.httpServer, {
      secret: this.secret,
      logger: this.logger,
      snapshot: (room) => {
        const link = this.links.get(room);
        if (!link?.live) return null;
        const state = node.encodeRoomState(room);
        return state ? { state, logPosition: link.position.applied } : null;
      },
      holds: (room) => this.links.get(room)?.live === true,
    });
    const listener: RoomBusListener = {
      message: (room, message) => {
        const link = this.links.get(room);
        if (!link) return;
        link.receive(message);
      },
      // Messages were lost while the subscription was down: look at the log, ask for presence again.
      resubscribed: () => {
        for (const link of this.liveLinks()) {
          link.requestCatchUp();
          link.announce();
          link.queryPresence();
        }
      },
      writable: () => void this.flushOutboxes(),
    };
    await this.bus.start(node.nodeId, listener);
    this.every(this.syncIntervalMs, () => this.sync());
    this.every(this.leaseRenewalIntervalMs, () => this.heartbeat());
    this.logger.info({ nodeId: node.nodeId, nodeUrl: this.nodeUrl }, 'cluster mode started');
  }

  async join(room: string, replica: RoomReplica): Promise<ReplicaMembership> {
    const { node, logger } = this.started();
    // The room may have just unloaded here: its previous link must finish leaving (deregister,
    // unsubscribe) before the new one subscribes and registers.
    await this.links.get(room)?.leaving;
    const link = new RoomLink(room, replica, {
      node: { nodeId: node.nodeId, url: this.nodeUrl },
      bus: this.bus,
      registry: this.registry,
      store: this.store,
      logger,
      syncIntervalMs: this.syncIntervalMs,
      leaseDurationMs: this.leaseDurationMs,
      closePollIntervalMs: Math.min(1_000, this.leaseRenewalIntervalMs),
      holdsRoom: (url, room) => holdsRoom(url, room, this.secret, this.handoffTimeoutMs),
      onLeft: (left, unsent) => this.forget(left, unsent),
      onDeleted: (deleted) => {
        node.dropDeletedRoom(deleted).catch((error: unknown) => logger.error({ room: deleted, err: error }, 'dropping a deleted room failed'));
      },
    });
    this.links.set(room, link);
    try {
      // Subscribe first: whatever is published from now on reaches us, buffered until the state is in.
      await this.bus.subscribe(room);
      let entry: RoomEntry = { holders: [], lease: null };
      try {
        entry = await this.registry.lookup(room);
      } catch (error) {
        logger.warn({ room, err: error }, 'the room registry is unavailable; loading the room from the log and the store');
      }
      await link.claimFreeLease(entry.lease);
      for (const holder of shuffled(entry.holders.filter((candidate) => candidate.nodeId !== node.nodeId))) {
        try {
          const snapshot = await fetchRoomState(holder.url, room, this.secret, this.handoffTimeoutMs);
          if (snapshot) {
            link.loadedFromPeer(snapshot);
            logger.debug({ room, peer: holder.nodeId, bytes: snapshot.state.byteLength }, 'room state handed over by a peer');
            break;
          }
        } catch (error) {
          logger.warn({ room, peer: holder.nodeId, err: error }, 'a peer did not hand the room over; trying the next one');
        }
      }
      // No peer: the log's tail is read before the core reads the store, so that together they
      // miss nothing (a checkpoint stores first and trims after).
      if (link.initialState === null) link.loadedFromLog(await this.bus.readLog(room, 0));
      return link;
    } catch (error) {
      if (this.links.get(room) === link) this.links.delete(room);
      this.bus.unsubscribe(room).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Tells every holder of the room to drop it (close its connections with 4410, unload without
   * saving), repeating the message until the registry lists no holder, so a lost pub/sub message
   * cannot leave a node that writes the room back; gives up after `deleteTimeoutMs` with a warning
   * (a holder that never answers is dead, and its registry entry goes stale). Then deletes what is
   * stored, and tells the nodes once more: a client that reconnected meanwhile may have made a
   * node load the room again.
   */
  async deleteRoom(room: string, deleteStored: () => Promise<void>): Promise<void> {
    const { node, logger } = this.started();
    const deleted = { kind: 'deleted', nodeId: node.nodeId } as const;
    const deadline = Date.now() + this.deleteTimeoutMs;
    for (;;) {
      await this.bus.publish(room, deleted);
      const holders = (await this.registry.lookup(room)).holders.filter((holder) => holder.nodeId !== node.nodeId);
      if (holders.length === 0) break;
      if (Date.now() > deadline) {
        logger.warn({ room, holders: holders.map((holder) => holder.nodeId) }, 'deleting a room: some holders did not drop it in time');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, DELETE_POLL_INTERVAL_MS));
    }
    await deleteStored();
    await this.bus.publish(room, deleted).catch((error: unknown) => logger.warn({ room, err: error }, 'deleting a room: the last notice to the other nodes failed'));
  }

  /** Which node holds which room, cluster-wide (from the registry). */
  describeCluster(): Promise<ClusterView> {
    return this.registry.describe();
  }

  /**
   * Every room this node holds gets a writer for its final checkpoint (see
   * `RoomLink.prepareFinalCheckpoint`), all rooms at once, within `closeLeaseWaitMs`.
   */
  async prepareToClose(): Promise<void> {
    const deadline = Date.now() + this.closeLeaseWaitMs;
    await Promise.allSettled(this.liveLinks().map((link) => link.prepareFinalCheckpoint(deadline)));
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.restoreRequestListeners?.();
    this.restoreRequestListeners = null;
    await Promise.allSettled([...this.links.values()].map((link) => link.leaving));
    await this.flushOutboxes();
    for (const link of this.links.values()) {
      if (link.unsentUpdates > 0) this.logger?.error({ room: link.room, updates: link.unsentUpdates }, 'closing with updates the cluster log never received');
    }
    if (this.orphans.length > 0) this.logger?.error({ updates: this.orphans.length }, 'closing with updates the cluster log never received');
    await Promise.allSettled([this.bus.close(), this.registry.close()]);
  }

  // ---- internals ----------------------------------------------------------------------------

  private started(): { node: ReplicatorNode; logger: Logger } {
    if (!this.node || !this.logger) throw new Error('the cluster replicator is not started');
    return { node: this.node, logger: this.logger };
  }

  private liveLinks(): RoomLink[] {
    return [...this.links.values()].filter((link) => link.live);
  }

  private forget(link: RoomLink, unsent: Uint8Array[]): void {
    if (this.links.get(link.room) === link) this.links.delete(link.room);
    for (const update of unsent) this.orphans.push({ room: link.room, update });
    if (unsent.length > 0) void this.flushOutboxes();
  }

  private every(intervalMs: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((error: unknown) => this.logger?.warn({ err: error }, 'a periodic cluster task failed'));
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** Anti-entropy round: state vectors out, log heads in, outboxes flushed. */
  private async sync(): Promise<void> {
    if (this.syncRunning) return;
    this.syncRunning = true;
    try {
      const links = this.liveLinks();
      for (const link of links) link.announce();
      await this.flushOutboxes();
      const heads = await this.bus.heads(links.map((link) => link.room));
      for (const link of links) {
        const head = heads.get(link.room);
        if (head !== undefined) link.checkHead(head);
      }
    } finally {
      this.syncRunning = false;
    }
  }

  /** Registry heartbeat for every room held, and lease renewal (or takeover). */
  private async heartbeat(): Promise<void> {
    if (this.heartbeatRunning) return;
    this.heartbeatRunning = true;
    try {
      const { node, logger } = this.started();
      const links = this.liveLinks();
      try {
        await this.registry.register({ nodeId: node.nodeId, url: this.nodeUrl }, links.map((link) => link.room));
      } catch (error) {
        logger.warn({ err: error, rooms: links.length }, 'registry heartbeat failed; peers may consider this node gone until it succeeds');
      }
      for (let index = 0; index < links.length; index += HEARTBEAT_CONCURRENCY) {
        const results = await Promise.allSettled(links.slice(index, index + HEARTBEAT_CONCURRENCY).map((link) => link.maintainLease()));
        for (const result of results) if (result.status === 'rejected') logger.warn({ err: result.reason }, 'writer lease renewal failed');
      }
    } finally {
      this.heartbeatRunning = false;
    }
  }

  private async flushOutboxes(): Promise<void> {
    await Promise.allSettled(this.liveLinks().map((link) => link.flushOutbox()));
    if (this.orphans.length === 0) return;
    const orphans = this.orphans;
    this.orphans = [];
    for (const orphan of orphans) {
      try {
        await this.bus.append(orphan.room, orphan.update);
      } catch {
        this.orphans.push(orphan);
      }
    }
  }
}
