import * as Y from 'yjs';
import type { Logger } from '../../core/logger.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { NoWriterError, StaleCheckpointError, UnpublishedUpdatesError } from './errors.js';
import { LogPosition } from './log-position.js';
import type { BusMessage } from './messages.js';
import { PeerRepair } from './peer-repair.js';
import type { CheckpointTicket, ReplicaMembership, RoomReplica } from '../../core/replicator.js';
import type { RoomBus, RoomLogTail } from './room-bus.js';
import type { NodeAddress, RoomRegistry, WriterLease } from './room-registry.js';
import type { RoomSnapshot } from './state-handoff.js';
import { judgeWriter } from './writer-verdict.js';

/** What every room link of a node shares. */
export interface LinkContext {
  readonly node: NodeAddress;
  readonly bus: RoomBus;
  readonly registry: RoomRegistry;
  readonly store: CheckpointStore;
  readonly logger: Logger;
  readonly syncIntervalMs: number;
  readonly leaseDurationMs: number;
  /** How often a stopping node looks at the registry again while it waits for a room's writer lease. */
  readonly closePollIntervalMs: number;
  /** Whether the node at `url` answers that it holds the room (proof that a listed writer is alive). */
  readonly holdsRoom: (url: string, room: string) => Promise<boolean>;
  /** Called once the link has left, so the node forgets it (and can hand over unsent updates). */
  readonly onLeft: (link: RoomLink, unsent: Uint8Array[]) => void;
  /** Another node deleted the room: the node drops it without saving. */
  readonly onDeleted: (room: string) => void;
}

/** The origin node id given to state read back from the document store while catching up. */
const STORE_ORIGIN = 'store';

/**
 * One room on one node, as the cluster sees it: the subscription, the position in the room's log,
 * the updates waiting to be appended, the writer lease, and anti-entropy with the other holders.
 *
 * Lifecycle: `loading` (messages are buffered while the state is fetched) → `live` (after the core
 * calls `ready`) → `left`.
 */
export class RoomLink implements ReplicaMembership {
  initialState: Uint8Array | null = null;
  readonly position = new LogPosition(0);
  private phase: 'loading' | 'live' | 'left' = 'loading';
  private buffered: BusMessage[] = [];
  private loadTail: RoomLogTail | null = null;
  /** Updates whose append failed, retried in order once Redis answers. */
  private outbox: Uint8Array[] = [];
  private flushing = false;
  private readonly inFlight = new Set<Promise<void>>();
  private lease: WriterLease | null = null;
  /** This node holds the lease and its document covers the log's trim point: it may checkpoint. */
  private writerReady = false;
  private leaseTask: Promise<void> | null = null;
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  /** When each peer last showed a sign of life in this room (a message, a lease renewal). */
  private readonly lastHeard = new Map<string, number>();
  private publishFailureLogged = false;
  private readonly peerRepair: PeerRepair;
  /** The log's trim point when this node claimed it while loading (null if it did not). */
  private claimedTrim: number | null = null;
  /** Registration and the first lease attempt, awaited before leaving so they cannot land after it. */
  private joined: Promise<void> | null = null;
  /** The writer that last announced it left the room; its lease outlives it if releasing it failed. */
  private leftWriter: { nodeId: string; at: number } | null = null;
  /** No peer handed the room over: the core loaded it from the store, whose version is then known. */
  private loadedFromStore = false;

  constructor(
    readonly room: string,
    private readonly replica: RoomReplica,
    private readonly context: LinkContext,
  ) {
    this.peerRepair = new PeerRepair(replica.doc, context.syncIntervalMs);
    context.store.track?.(room);
  }

  get live(): boolean {
    return this.phase === 'live';
  }

  get isWriter(): boolean {
    return this.writerReady && this.lease?.holder === this.context.node.nodeId;
  }

  get unsentUpdates(): number {
    return this.outbox.length;
  }

  // ---- loading ------------------------------------------------------------------------------

  /** The state came from a peer: the log position is the one the peer's state covers. */
  loadedFromPeer(snapshot: RoomSnapshot): void {
    this.initialState = snapshot.state;
    this.position.advanceTo(snapshot.logPosition);
  }

  /** No peer holds the room: the log's tail, read before the core reads the store, is applied on `ready`. */
  loadedFromLog(tail: RoomLogTail): void {
    this.loadTail = tail;
    this.loadedFromStore = true;
  }

  /**
   * While loading: takes the writer lease if no live node holds it (the first node of a room, or
   * after its writer died), and claims the log's trimming before any state is read. The room can
   * then checkpoint as soon as it is loaded, instead of after a lease round trip.
   */
  async claimFreeLease(known: WriterLease | null): Promise<void> {
    const { registry, bus, node, leaseDurationMs, logger } = this.context;
    this.noteLease(known);
    if (known && known.holder !== '' && known.holder !== node.nodeId && known.leaseUntil > Date.now()) return;
    try {
      const lease = await registry.acquireLease(node.nodeId, this.room, leaseDurationMs);
      this.noteLease(lease);
      if (lease.holder === node.nodeId) this.claimedTrim = (await bus.claimTrim(this.room)).trimmed;
    } catch (error) {
      logger.warn({ room: this.room, err: error }, 'could not take the writer lease while loading; the next heartbeat retries');
    }
  }

  noteLease(lease: WriterLease | null): void {
    this.lease = lease;
    if (lease && lease.holder !== this.context.node.nodeId) this.heard(lease.holder, lease.leaseUntil - this.context.leaseDurationMs);
  }

  ready(): void {
    if (this.phase !== 'loading') return;
    const tail = this.loadTail;
    this.loadTail = null;
    if (tail) {
      // The store's state covers the log up to its trim point; the entries after it complete it.
      for (const entry of tail.entries) this.applyRemote(entry.update, entry.nodeId);
      this.position.advanceTo(Math.max(tail.trimmed, tail.entries.at(-1)?.seq ?? 0));
    }
    this.phase = 'live';
    // The lease taken while loading is usable once the loaded state covers the trim point claimed.
    // A state handed over by a peer leaves the stored version unknown: the lease step reads it first.
    this.writerReady =
      this.claimedTrim !== null && this.loadedFromStore && this.lease?.holder === this.context.node.nodeId && this.position.applied >= this.claimedTrim;
    if (this.writerReady) this.context.logger.info({ room: this.room, position: this.position.applied }, "this node now writes the room's checkpoints");
    const buffered = this.buffered;
    this.buffered = [];
    for (const message of buffered) this.handle(message);
    this.joined = this.afterLoad();
  }

  private async afterLoad(): Promise<void> {
    const { registry, node, logger } = this.context;
    this.queryPresence();
    // A lease taken while loading is fresh: the next heartbeat renews it.
    const lease = this.isWriter ? Promise.resolve() : this.maintainLease();
    const steps = await Promise.allSettled([registry.register(node, [this.room]), lease, this.catchUp()]);
    for (const step of steps) {
      if (step.status === 'rejected') logger.warn({ room: this.room, err: step.reason }, 'a step after loading failed; the next heartbeat retries it');
    }
  }

  // ---- messages from the channel ------------------------------------------------------------

  receive(message: BusMessage): void {
    if (this.phase === 'loading') this.buffered.push(message);
    else if (this.phase === 'live') this.handle(message);
  }

  private handle(message: BusMessage): void {
    const { nodeId } = this.context.node;
    if (message.nodeId === nodeId) {
      // Our own update, echoed: its sequence number moves our position (its content is ours already).
      if (message.kind === 'update' && this.position.observe(message.seq)) this.requestCatchUp();
      return;
    }
    this.heard(message.nodeId, Date.now());
    if (message.kind !== 'leave' && message.nodeId === this.leftWriter?.nodeId) this.leftWriter = null;
    switch (message.kind) {
      case 'update':
        this.applyRemote(message.update, message.nodeId);
        if (this.position.observe(message.seq)) this.requestCatchUp();
        break;
      case 'awareness':
        try {
          this.replica.applyRemoteAwareness(message.update, message.nodeId);
        } catch (error) {
          this.context.logger.warn({ room: this.room, from: message.nodeId, err: error }, 'dropped a malformed awareness update from a peer');
        }
        break;
      case 'awarenessQuery': {
        const states = this.replica.encodeLocalAwareness();
        if (states) this.publish({ kind: 'awareness', nodeId, update: states });
        break;
      }
      case 'stateVector':
        if (this.position.sawHead(message.seq)) this.requestCatchUp();
        this.repairPeer(message.nodeId, message.stateVector);
        break;
      case 'repair':
        if (message.target === nodeId) this.applyRemote(message.update, message.nodeId);
        break;
      case 'deleted':
        this.context.onDeleted(this.room);
        break;
      case 'leave':
        this.lastHeard.delete(message.nodeId);
        if (this.lease?.holder === message.nodeId) {
          this.leftWriter = { nodeId: message.nodeId, at: Date.now() };
          // The writer left and released its lease: take over now rather than after it expires.
          this.lease = null;
          void this.maintainLease().catch((error: unknown) => this.context.logger.warn({ room: this.room, err: error }, 'taking over the writer lease failed'));
        }
        break;
    }
  }

  private applyRemote(update: Uint8Array, from: string): void {
    try {
      this.replica.applyRemoteUpdate(update, from);
    } catch (error) {
      this.context.logger.error({ room: this.room, from, err: error, bytes: update.byteLength }, 'could not apply an update from the cluster');
    }
  }

  private heard(nodeId: string, at: number): void {
    if (at > (this.lastHeard.get(nodeId) ?? 0)) this.lastHeard.set(nodeId, at);
  }

  // ---- updates to the channel ---------------------------------------------------------------

  publishUpdate(update: Uint8Array): void {
    // Behind a failed append, keep the order: the outbox drains before anything newer is sent.
    if (this.outbox.length > 0 || this.phase === 'left') {
      this.outbox.push(update);
      return;
    }
    this.append(update);
  }

  private append(update: Uint8Array): void {
    const sent: Promise<void> = this.context.bus.append(this.room, update).then(
      () => {
        this.publishFailureLogged = false;
      },
      (error: unknown) => {
        this.outbox.push(update);
        if (!this.publishFailureLogged) {
          this.publishFailureLogged = true;
          this.context.logger.warn({ room: this.room, err: error }, 'could not append an update to the cluster log; it waits in the outbox');
        }
      },
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /** Appends what failed before, merged into one update (Yjs merges are exact). */
  async flushOutbox(): Promise<void> {
    if (this.outbox.length === 0 || this.flushing) return;
    this.flushing = true;
    const batch = this.outbox;
    this.outbox = [];
    try {
      await this.context.bus.append(this.room, batch.length === 1 ? batch[0] : Y.mergeUpdates(batch));
      this.context.logger.info({ room: this.room, updates: batch.length }, 'appended the updates that waited in the outbox');
      this.publishFailureLogged = false;
    } catch {
      this.outbox = [...batch, ...this.outbox];
    } finally {
      this.flushing = false;
    }
  }

  /** Asks the other holders to publish their clients' presence (after joining or a lost subscription). */
  queryPresence(): void {
    this.publish({ kind: 'awarenessQuery', nodeId: this.context.node.nodeId });
  }

  publishAwareness(update: Uint8Array): void {
    this.publish({ kind: 'awareness', nodeId: this.context.node.nodeId, update });
  }

  private publish(message: Exclude<BusMessage, { kind: 'update' }>): void {
    // Presence and anti-entropy messages are not durable by design: they are re-sent periodically.
    this.context.bus.publish(this.room, message).catch((error: unknown) => {
      this.context.logger.debug({ room: this.room, kind: message.kind, err: error }, 'could not publish a cluster message');
    });
  }

  // ---- catching up with the log -------------------------------------------------------------

  /** Compares the log's head (read periodically) with our position. */
  checkHead(head: number): void {
    if (this.phase !== 'live') return;
    if (head < this.position.applied || this.position.sawHead(head)) this.requestCatchUp();
  }

  requestCatchUp(): void {
    this.catchUp().catch((error: unknown) => this.context.logger.warn({ room: this.room, err: error }, 'catching up with the cluster log failed; retried at the next check'));
  }

  /** Reads what this node misses from the log. Never runs twice at once; a request made meanwhile runs another pass. */
  catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      try {
        do {
          this.catchUpAgain = false;
          await this.readMissing();
        } while (this.catchUpAgain && this.phase === 'live');
      } finally {
        this.catchingUp = null;
      }
    })();
    return this.catchingUp;
  }

  private async readMissing(): Promise<void> {
    const { bus, store, logger } = this.context;
    const from = this.position.applied;
    const tail = await bus.readLog(this.room, from);
    if (this.phase !== 'live') return;
    if (tail.head < from) return this.logWentBack(tail.head);
    if (tail.trimmed > this.position.applied) {
      // Entries we never saw were trimmed: a checkpoint covers them, so the store has them.
      const stored = await store.load(this.room);
      if (this.phase !== 'live') return;
      if (stored) this.applyRemote(Y.diffUpdate(stored, Y.encodeStateVector(this.replica.doc)), STORE_ORIGIN);
      else logger.error({ room: this.room, trimmed: tail.trimmed }, 'the log was trimmed but the store has no state for the room');
    }
    for (const entry of tail.entries) this.applyRemote(entry.update, entry.nodeId);
    const reached = Math.max(from, tail.trimmed, tail.entries.at(-1)?.seq ?? 0);
    if (reached < tail.head) logger.warn({ room: this.room, head: tail.head, reached }, 'the cluster log has a hole (entries lost in Redis)');
    this.position.advanceTo(Math.max(reached, tail.head));
    if (tail.entries.length > 0 || tail.trimmed > from) logger.debug({ room: this.room, from, to: this.position.applied }, 'caught up with the cluster log');
  }

  /**
   * The log's head is behind our position: Redis lost data (restarted without persistence, or
   * with `appendfsync everysec` after a crash). Our document holds updates the log no longer has,
   * so we append our whole state once; every holder does the same, and all converge again.
   */
  private logWentBack(head: number): void {
    this.context.logger.error({ room: this.room, head, position: this.position.applied }, 'the cluster log went back (Redis lost data); re-appending this node\'s state');
    this.position.reset(head);
    this.writerReady = false;
    this.publishUpdate(Y.encodeStateAsUpdate(this.replica.doc));
  }

  // ---- anti-entropy -------------------------------------------------------------------------

  /** Publishes our state vector and log position (peers compare it with theirs). */
  announce(): void {
    if (this.phase !== 'live') return;
    this.publish({ kind: 'stateVector', nodeId: this.context.node.nodeId, seq: this.position.applied, stateVector: this.peerRepair.announce() });
  }

  /** Sends a peer what its state vector shows it lacks (see `PeerRepair`). */
  private repairPeer(peer: string, peerStateVector: Uint8Array): void {
    const update = this.peerRepair.repairFor(peer, peerStateVector);
    if (!update) return;
    this.context.logger.info({ room: this.room, peer, bytes: update.byteLength }, 'a peer lacks updates this node has; sending the difference');
    this.publish({ kind: 'repair', nodeId: this.context.node.nodeId, target: peer, update });
  }

  // ---- the writer lease and checkpoints -----------------------------------------------------

  /**
   * Renews the lease if we hold it; tries to take it when nobody holds it or it expired. On taking
   * it, claims the log's trimming and makes sure our document covers the log's trim point first:
   * a checkpoint must never store less than what was trimmed.
   */
  maintainLease(): Promise<void> {
    return this.leaseStep(() => this.renewOrAcquire());
  }

  /** Lease steps never overlap: one started while another runs waits for that one instead. */
  private leaseStep(step: () => Promise<void>): Promise<void> {
    this.leaseTask ??= step().finally(() => {
      this.leaseTask = null;
    });
    return this.leaseTask;
  }

  private async renewOrAcquire(): Promise<void> {
    const { registry, node, leaseDurationMs, logger } = this.context;
    if (this.phase !== 'live') return;
    const now = Date.now();
    const ours = this.lease?.holder === node.nodeId;
    if (!ours && this.lease && this.lease.holder !== '' && this.lease.leaseUntil > now) return;
    const lease = await registry.acquireLease(node.nodeId, this.room, leaseDurationMs);
    if (this.phase !== 'live') {
      if (lease.holder === node.nodeId) await registry.releaseLease(node.nodeId, this.room);
      return;
    }
    this.noteLease(lease);
    if (lease.holder !== node.nodeId) {
      if (this.writerReady) logger.warn({ room: this.room, holder: lease.holder }, 'lost the writer lease');
      this.writerReady = false;
      return;
    }
    if (!this.writerReady) await this.becomeWriter();
  }

  /** Takes over `stale`, the unexpired lease of a node known to be dead. */
  private async takeOver(stale: WriterLease): Promise<void> {
    const { registry, node, leaseDurationMs, logger } = this.context;
    if (this.phase !== 'live') return;
    const lease = await registry.takeOverLease(node.nodeId, this.room, leaseDurationMs, stale);
    this.noteLease(lease);
    if (lease.holder !== node.nodeId) return;
    logger.info({ room: this.room, deadWriter: stale.holder }, 'took over the writer lease of a node known to be dead');
    await this.becomeWriter();
  }

  /**
   * Just took the lease: claims the log's trimming, catches up with the log (a checkpoint must
   * never store less than what was trimmed), reads the stored document (other writers may have
   * written it since this node loaded the room: its version is the base of the next conditional
   * write, and whatever it holds that this node lacks is merged), and asks for a checkpoint when
   * the log holds updates no checkpoint covers.
   */
  private async becomeWriter(): Promise<void> {
    const { bus, node, logger } = this.context;
    const bounds = await bus.claimTrim(this.room);
    this.position.sawHead(bounds.head);
    if (bounds.trimmed > this.position.applied || bounds.head > this.position.applied) await this.catchUp();
    await this.readStoredDocument();
    this.writerReady = this.phase === 'live' && this.lease?.holder === node.nodeId && this.position.applied >= bounds.trimmed;
    if (!this.writerReady) return;
    logger.info({ room: this.room, position: this.position.applied }, "this node now writes the room's checkpoints");
    if (bounds.head > bounds.trimmed) this.replica.requestCheckpoint();
  }

  /** Reads the room's stored document: its version becomes known, and what it holds that this node lacks is merged. */
  private async readStoredDocument(): Promise<void> {
    this.context.store.track?.(this.room);
    const stored = await this.context.store.load(this.room);
    if (stored && this.phase === 'live') this.applyRemote(Y.diffUpdate(stored, Y.encodeStateVector(this.replica.doc)), STORE_ORIGIN);
  }

  beginCheckpoint(): CheckpointTicket | null {
    const { node, leaseDurationMs } = this.context;
    const now = Date.now();
    // A checkpoint that starts with less than half the lease left could still be writing when
    // another node takes over; skip it and let the renewed lease (or the next writer) do it.
    if (this.isWriter && this.lease !== null && this.lease.leaseUntil - now >= leaseDurationMs / 2) {
      const covered = this.position.applied;
      return {
        commit: () => this.afterCheckpoint(covered),
        abort: (cause) => {
          if (cause instanceof StaleCheckpointError) this.stepDown(cause);
        },
      };
    }
    if (this.outbox.length > 0) throw new UnpublishedUpdatesError(this.room, this.outbox.length);
    const lease = this.lease;
    if (lease && lease.holder !== node.nodeId && lease.holder !== '' && lease.leaseUntil > now && this.recentlyHeard(lease.holder, now)) {
      // Another live node writes the room; our updates are in the log, which it follows.
      return null;
    }
    void this.maintainLease().catch((error: unknown) => this.context.logger.warn({ room: this.room, err: error }, 'taking the writer lease failed'));
    throw new NoWriterError(this.room);
  }

  private recentlyHeard(nodeId: string, now: number): boolean {
    return now - (this.lastHeard.get(nodeId) ?? 0) <= 3 * this.context.syncIntervalMs + this.context.leaseDurationMs / 3;
  }

  /**
   * The store refused our checkpoint: another node wrote the room's document since we last read or
   * wrote it, so we may have lost the lease without noticing (cut off from the registry, paused).
   * Stop writing, give the lease up, and read the newer document back; the lease step decides
   * again who writes (this node, if the lease is still free for it).
   */
  private stepDown(cause: StaleCheckpointError): void {
    const { registry, node, logger } = this.context;
    logger.warn({ room: this.room, err: cause }, "the store refused this node's checkpoint (another node wrote the room since): giving up the writer lease and reading the room back");
    const held = this.lease?.holder === node.nodeId;
    this.writerReady = false;
    this.lease = null;
    if (held) registry.releaseLease(node.nodeId, this.room).catch((error: unknown) => logger.warn({ room: this.room, err: error }, 'could not give up the writer lease; it expires on its own'));
    this.readStoredDocument().catch((error: unknown) => logger.warn({ room: this.room, err: error }, 'could not read the room back after stepping down; the next lease step retries'));
  }

  // ---- the final checkpoint at shutdown ------------------------------------------------------

  /**
   * At shutdown, before the final checkpoint: makes sure somebody writes it. Returns once this node
   * is the writer (caught up with the log, so its checkpoint covers every update appended so far),
   * or once the lease's holder proved it is alive and holds the room (it writes, and the log keeps
   * our updates until it does), or at `deadline`. A holder known to be dead has its lease taken
   * over; any other lease is waited for until it expires.
   */
  async prepareFinalCheckpoint(deadline: number): Promise<void> {
    const { registry, bus, logger, closePollIntervalMs } = this.context;
    for (;;) {
      if (this.phase !== 'live') return;
      let waitingFor: string | null = '';
      try {
        if (!this.isWriter) waitingFor = await this.lookForWriter();
        if (this.isWriter) {
          const head = (await bus.heads([this.room])).get(this.room) ?? 0;
          if (this.position.sawHead(head)) await this.catchUp();
          return;
        }
        if (waitingFor === null) return;
      } catch (error) {
        logger.warn({ room: this.room, err: error }, 'looking for a writer for the final checkpoint failed; retrying');
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        logger.error(
          { room: this.room, holder: waitingFor || this.lease?.holder, leaseUntil: this.lease?.leaseUntil, registryStaleAfterMs: registry.staleAfterMs },
          "no node could write the final checkpoint before the shutdown deadline: the room's latest updates stay in the cluster log only",
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(closePollIntervalMs, left)));
    }
  }

  /**
   * One look at the registry, taking the lease when it is free or its holder is known dead.
   * Resolves to null when a live node holds both the lease and the room (it writes), otherwise to
   * the holder this node waits for ('' when there is none).
   */
  private async lookForWriter(): Promise<string | null> {
    const { registry, node, holdsRoom } = this.context;
    const entry = await registry.lookup(this.room);
    const verdict = judgeWriter(entry, node.nodeId, Date.now(), registry.staleAfterMs, this.leftWriter);
    switch (verdict.kind) {
      case 'self':
      case 'free':
        this.noteLease(entry.lease);
        await this.maintainLease();
        return '';
      case 'dead':
        await this.leaseStep(() => this.takeOver(verdict.lease));
        return verdict.lease.holder;
      case 'listed':
        this.noteLease(entry.lease);
        return (await holdsRoom(verdict.url, this.room)) ? null : verdict.holder;
      case 'unsettled':
        return verdict.holder;
    }
  }

  /** The checkpoint is stored: the log entries it covers can go. */
  private async afterCheckpoint(covered: number): Promise<void> {
    try {
      const trimmed = await this.context.bus.trim(this.room, covered);
      if (!trimmed) {
        this.writerReady = false;
        this.context.logger.warn({ room: this.room }, 'another node claimed the room\'s log; not trimming it');
      }
    } catch (error) {
      // Harmless: the entries stay in the log until the next checkpoint trims them.
      this.context.logger.warn({ room: this.room, err: error }, 'trimming the cluster log failed');
    }
    // Stored, but peers have not seen these updates: the room must not unload before they do.
    if (this.outbox.length > 0) throw new UnpublishedUpdatesError(this.room, this.outbox.length);
  }

  // ---- leaving ------------------------------------------------------------------------------

  /** Set once `leave` was called; resolves when the room has left. */
  leaving: Promise<void> | null = null;

  leave(): Promise<void> {
    this.leaving ??= this.leaveCluster();
    return this.leaving;
  }

  private async leaveCluster(): Promise<void> {
    const wasLive = this.phase === 'live';
    this.phase = 'left';
    this.buffered = [];
    const { bus, registry, node, logger } = this.context;
    await Promise.allSettled([...this.inFlight]);
    await this.joined;
    await this.leaseTask?.catch(() => undefined);
    const held = this.lease?.holder === node.nodeId;
    const steps = await Promise.allSettled([
      bus.unsubscribe(this.room),
      registry.deregister(node.nodeId, this.room),
      held ? registry.releaseLease(node.nodeId, this.room) : Promise.resolve(),
    ]);
    for (const step of steps) {
      if (step.status === 'rejected') logger.warn({ room: this.room, err: step.reason }, 'a step of leaving the room failed (a stale registry entry expires on its own)');
    }
    this.writerReady = false;
    if (wasLive) this.publish({ kind: 'leave', nodeId: node.nodeId });
    this.context.onLeft(this, this.outbox);
    this.outbox = [];
  }
}
