import type { SymphonyEventMap } from '../../core/events.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { Symphony } from '../../core/symphony.js';
import type { ConnectionInfo, RoomInfo } from '../../core/types.js';
import type { MetadataStore, RoomWrite, SessionWrite } from './metadata-store.js';
import { positiveInteger } from '../../util/config-checks.js';
import { WriteQueue, type PendingWrite } from './write-queue.js';

/** How the recorder batches writes to the metadata store and backs off when it fails. */
export interface MetadataRecorderOptions {
  /** How often queued writes go to the store, and loaded rooms' activity is sampled, in milliseconds. @default 1_000 */
  flushIntervalMs?: number;
  /** Most writes (rooms and sessions) in one batch. @default 500 */
  maxBatchSize?: number;
  /**
   * Most writes waiting for the store. While the store is down, the oldest beyond this are
   * dropped and counted (`dropped` in the stats): memory stays bounded however long it is down.
   * @default 10_000
   */
  maxQueuedWrites?: number;
  /** Delay before the first retry of a failed write, doubled at each further failure, in milliseconds. @default 1_000 */
  retryMinDelayMs?: number;
  /** Longest delay between retries, in milliseconds. @default 30_000 */
  retryMaxDelayMs?: number;
  /**
   * A batch is written at least this often even when nothing changed: the node's heartbeat, which
   * tells the stores that its open sessions are still open. Keep it well under the stores' `nodeTimeoutMs`.
   * @default 15_000
   */
  nodeReportIntervalMs?: number;
  /** @default silent */
  logger?: Logger;
}

/** The recorder's health, shown in the dashboard's stats and metrics. */
export interface MetadataRecorderStats {
  readonly store: string;
  /** False while writes are failing. */
  readonly healthy: boolean;
  readonly queued: number;
  /** Room and session writes the store accepted, since start. */
  readonly written: number;
  /** Failed write attempts (each retried), since start. */
  readonly writeFailures: number;
  readonly consecutiveFailures: number;
  /** Writes dropped because the queue was full, since start. */
  readonly dropped: number;
  readonly lastError: string | null;
  readonly lastErrorAt: Date | null;
  readonly lastWriteAt: Date | null;
}

/**
 * Feeds a `MetadataStore` from Symphony's events, off the hot path: event handlers only queue a
 * small record (no I/O, nothing proportional to a document's size), and a timer writes the queue
 * in batches. A slow or unreachable store delays nothing but the dashboard's history: failures
 * are logged, counted and retried with backoff, and the queue is capped.
 */
export class MetadataRecorder {
  private readonly queue: WriteQueue;
  private readonly flushIntervalMs: number;
  private readonly maxBatchSize: number;
  private readonly retryMinDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly nodeReportIntervalMs: number;
  private readonly logger: Logger;
  private readonly startedAt = new Date();
  /** Last sampled activity of each loaded room: a room is written again only once it changed. */
  private readonly sampledActivity = new Map<string, number>();
  private storeStarted = false;
  private announced = false;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<boolean> | null = null;
  private closed = false;
  private lastAttemptAt = 0;
  private written = 0;
  private writeFailures = 0;
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  private lastErrorAt: Date | null = null;
  private lastWriteAt: Date | null = null;

  constructor(
    private readonly symphony: Symphony,
    readonly store: MetadataStore,
    options: MetadataRecorderOptions = {},
  ) {
    this.flushIntervalMs = positiveInteger('flushIntervalMs', options.flushIntervalMs ?? 1_000);
    this.maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? 500);
    this.queue = new WriteQueue(positiveInteger('maxQueuedWrites', options.maxQueuedWrites ?? 10_000));
    this.retryMinDelayMs = positiveInteger('retryMinDelayMs', options.retryMinDelayMs ?? 1_000);
    this.retryMaxDelayMs = positiveInteger('retryMaxDelayMs', options.retryMaxDelayMs ?? 30_000);
    this.nodeReportIntervalMs = positiveInteger('nodeReportIntervalMs', options.nodeReportIntervalMs ?? 15_000);
    this.logger = options.logger ?? silentLogger;
    const { events } = symphony;
    events.on('roomLoaded', this.onRoomLoaded);
    events.on('roomUnloaded', this.onRoomUnloaded);
    events.on('connectionOpened', this.onConnectionOpened);
    events.on('connectionClosed', this.onConnectionClosed);
    events.on('checkpoint', this.onCheckpoint);
    for (const room of symphony.rooms()) this.onRoomLoaded(room);
    this.schedule(0);
  }

  /** Queued and failed writes, for the dashboard's totals. */
  stats(): MetadataRecorderStats {
    return {
      store: this.store.kind,
      healthy: this.consecutiveFailures === 0,
      queued: this.queue.size,
      written: this.written,
      writeFailures: this.writeFailures,
      consecutiveFailures: this.consecutiveFailures,
      dropped: this.queue.dropped,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lastWriteAt: this.lastWriteAt,
    };
  }

  /** Writes everything queued now. Resolves to false if a write failed (what it held stays queued). */
  async flush(): Promise<boolean> {
    await this.writing;
    this.sampleRooms();
    do {
      if (!(await this.writeBatch())) return false;
    } while (this.queue.size > 0);
    return true;
  }

  /** Stops recording; tries one last flush, bounded by the store's own timeouts. Does not close the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { events } = this.symphony;
    events.off('roomLoaded', this.onRoomLoaded);
    events.off('roomUnloaded', this.onRoomUnloaded);
    events.off('connectionOpened', this.onConnectionOpened);
    events.off('connectionClosed', this.onConnectionClosed);
    events.off('checkpoint', this.onCheckpoint);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // While the store is failing, a last attempt would only hold up the shutdown.
    if (this.consecutiveFailures === 0) await this.flush();
    else await this.writing;
  }

  // ---- events: each queues a record, nothing else ---------------------------------------------

  private readonly onRoomLoaded = (room: RoomInfo): void => {
    this.sampledActivity.set(room.name, room.lastActivityAt.getTime());
    this.queue.addRoom({
      name: room.name,
      firstActivityAt: room.loadedAt,
      lastActivityAt: room.lastActivityAt,
      documentBytes: room.documentBytes,
      documentBytesAt: new Date(),
      peakConnections: room.connections,
      lastCheckpointAt: room.lastCheckpointAt,
    });
  };

  private readonly onRoomUnloaded = ({ room }: SymphonyEventMap['roomUnloaded'][0]): void => {
    this.sampledActivity.delete(room);
  };

  private readonly onConnectionOpened = (connection: ConnectionInfo): void => {
    const now = new Date();
    this.queue.addSession(sessionWrite(connection, null));
    this.queue.addRoom(activity(connection.room, now, this.symphony.room(connection.room)?.connections ?? 1));
  };

  private readonly onConnectionClosed = (connection: ConnectionInfo): void => {
    const now = new Date();
    this.queue.addSession(sessionWrite(connection, now));
    this.queue.addRoom(activity(connection.room, now, 0));
  };

  private readonly onCheckpoint = ({ room, bytes }: SymphonyEventMap['checkpoint'][0]): void => {
    const now = new Date();
    const lastActivityAt = this.symphony.room(room)?.lastActivityAt ?? now;
    // The exact size: it corrects the estimate the room keeps from update sizes between checkpoints.
    this.queue.addRoom({ ...activity(room, lastActivityAt, 0), documentBytes: bytes, documentBytesAt: now, lastCheckpointAt: now });
  };

  // ---- the write loop -------------------------------------------------------------------------

  /**
   * Document edits produce no event (they are the hot path): once per flush the loaded rooms'
   * activity and estimated size are compared with what was last recorded. The cost is one pass
   * over the loaded rooms per interval, independent of the number and size of updates.
   */
  private sampleRooms(): void {
    const now = new Date();
    for (const room of this.symphony.rooms()) {
      const activityMs = room.lastActivityAt.getTime();
      if (this.sampledActivity.get(room.name) === activityMs) continue;
      this.sampledActivity.set(room.name, activityMs);
      this.queue.addRoom({ ...activity(room.name, room.lastActivityAt, room.connections), documentBytes: room.documentBytes, documentBytesAt: now });
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    this.sampleRooms();
    const due = this.queue.size > 0 || !this.announced || Date.now() - this.lastAttemptAt >= this.nodeReportIntervalMs;
    const ok = due ? await this.writeBatch() : true;
    if (ok) this.schedule(this.queue.size >= this.maxBatchSize ? 0 : this.flushIntervalMs);
    else this.schedule(Math.min(this.retryMaxDelayMs, this.retryMinDelayMs * 2 ** (this.consecutiveFailures - 1)));
  }

  /** One batch at a time: a flush and the timer never write concurrently. */
  private writeBatch(): Promise<boolean> {
    const run = async (): Promise<boolean> => {
      const entries = this.queue.take(this.maxBatchSize);
      this.lastAttemptAt = Date.now();
      try {
        if (!this.storeStarted) {
          await this.store.start();
          this.storeStarted = true;
        }
        await this.store.write({
          nodeId: this.symphony.nodeId,
          at: new Date(),
          nodeStartedAt: this.announced ? null : this.startedAt,
          rooms: entries.filter(isRoom).map((entry) => entry.write),
          sessions: entries.filter(isSession).map((entry) => entry.write),
        });
      } catch (error) {
        this.queue.restore(entries);
        this.writeFailures++;
        this.consecutiveFailures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.lastErrorAt = new Date();
        this.logger.error(
          { err: error, store: this.store.kind, attempt: this.consecutiveFailures, queued: this.queue.size, dropped: this.queue.dropped },
          'metadata write failed; collaboration is unaffected and the write is retried',
        );
        return false;
      }
      if (this.consecutiveFailures > 0) {
        this.logger.info({ store: this.store.kind, failedAttempts: this.consecutiveFailures, dropped: this.queue.dropped }, 'metadata writes resumed');
      }
      this.announced = true;
      this.consecutiveFailures = 0;
      this.written += entries.length;
      this.lastWriteAt = new Date();
      return true;
    };
    const previous = this.writing ?? Promise.resolve(true);
    const current = previous.then(run);
    this.writing = current;
    void current.finally(() => {
      if (this.writing === current) this.writing = null;
    });
    return current;
  }
}

function isRoom(entry: PendingWrite): entry is Extract<PendingWrite, { kind: 'room' }> {
  return entry.kind === 'room';
}

function isSession(entry: PendingWrite): entry is Extract<PendingWrite, { kind: 'session' }> {
  return entry.kind === 'session';
}

function activity(room: string, at: Date, connections: number): RoomWrite {
  return { name: room, firstActivityAt: at, lastActivityAt: at, documentBytes: null, documentBytesAt: null, peakConnections: connections, lastCheckpointAt: null };
}

function sessionWrite(connection: ConnectionInfo, disconnectedAt: Date | null): SessionWrite {
  return {
    id: connection.id,
    room: connection.room,
    userId: connection.userId,
    readOnly: connection.readOnly,
    connectedAt: connection.connectedAt,
    disconnectedAt,
    messagesIn: connection.messagesIn,
    messagesOut: connection.messagesOut,
  };
}
