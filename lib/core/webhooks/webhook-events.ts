import { randomUUID } from 'node:crypto';
import type { SymphonyEventMap, SymphonyEvents } from '../events.js';
import type { Logger } from '../logger.js';
import type { WebhookDispatcher } from './webhook-dispatcher.js';
import type { WebhookEvent, WebhookEventData, WebhookEventType } from './webhook-wire-types.js';

/** What the webhook events need from the server besides its events. */
export interface WebhookEventHost {
  readonly events: SymphonyEvents;
  /** True on the node that writes the room (always on a single node): it alone sends the room's events. */
  isWriter(room: string): boolean;
  /** The document's size and Yjs state vector, from memory or the store; null for a room that does not exist. */
  documentSummary(room: string): Promise<{ documentBytes: number; stateVector: Uint8Array } | null>;
}

/**
 * Turns `symphony.events` into webhook events and hands them to the dispatcher, each from one node
 * of a cluster: what every holder of a room sees (`room.loaded`, `room.unloaded`,
 * `document.updated`, `document.stored`) is sent by the room's writer only; what happens on one
 * node is sent by that node (`user.joined` and `user.left` by the node of the connection,
 * `version.created` by the node that wrote the version, `room.deleted` by the node that deleted
 * the room). `document.updated` is coalesced per room: at most one per
 * `documentUpdatedIntervalMs`, describing the document at the end of it.
 */
export class WebhookEvents {
  private readonly unsubscribes: (() => void)[] = [];
  /** Rooms with a `document.updated` waiting for its interval to end. */
  private readonly pendingUpdates = new Map<string, NodeJS.Timeout>();
  private readonly lastUpdateSentAt = new Map<string, number>();
  /** Rooms this node wrote while loaded: their `room.unloaded` is sent after the writer lease is gone. */
  private readonly writtenHere = new Set<string>();

  constructor(
    private readonly host: WebhookEventHost,
    private readonly dispatcher: WebhookDispatcher,
    private readonly documentUpdatedIntervalMs: number,
    private readonly logger: Logger,
  ) {
    this.on('roomLoaded', (room) => {
      if (!this.isWriter(room.name)) return;
      this.emit('room.loaded', { room: room.name, documentBytes: room.documentBytes });
    });
    this.on('roomUnloaded', ({ room }) => {
      const wasWriter = this.writtenHere.has(room) || this.host.isWriter(room);
      // The last change's document.updated goes out first, read from the store the room was saved to.
      void this.flushUpdate(room).then(() => {
        this.writtenHere.delete(room);
        this.lastUpdateSentAt.delete(room);
        if (wasWriter) this.emit('room.unloaded', { room });
      });
    });
    if (dispatcher.wants('document.updated')) this.on('documentUpdated', ({ room }) => this.scheduleUpdate(room));
    this.on('checkpoint', ({ room, bytes, durationMs }) => {
      if (!this.isWriter(room)) return;
      this.emit('document.stored', { room, bytes, durationMs: Math.round(durationMs) });
    });
    this.on('connectionOpened', (connection) => {
      this.emit('user.joined', { room: connection.room, userId: connection.userId, connectionId: connection.id, readOnly: connection.readOnly });
    });
    this.on('connectionClosed', (connection, close) => {
      this.emit('user.left', { room: connection.room, userId: connection.userId, connectionId: connection.id, code: close.code, reason: close.reason });
    });
    this.on('versionCreated', (version) => {
      this.emit('version.created', {
        room: version.room,
        versionId: version.id,
        kind: version.kind,
        name: version.name ?? null,
        createdBy: version.createdBy ?? null,
        createdAt: version.createdAt.toISOString(),
        bytes: version.bytes,
      });
    });
    this.on('roomDeleted', ({ room }) => {
      const pending = this.pendingUpdates.get(room);
      if (pending) clearTimeout(pending);
      this.pendingUpdates.delete(room);
      this.emit('room.deleted', { room });
    });
  }

  /** Stops listening and sends the coalesced `document.updated` events still waiting. */
  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    await Promise.all([...this.pendingUpdates.keys()].map((room) => this.flushUpdate(room)));
  }

  private on<K extends keyof SymphonyEventMap>(event: K, listener: (...args: SymphonyEventMap[K]) => void): void {
    const guarded = (...args: SymphonyEventMap[K]) => {
      // A webhook bug must never break the code that emitted the event.
      try {
        listener(...args);
      } catch (error) {
        this.logger.error({ err: error, event }, 'webhook event could not be queued');
      }
    };
    (this.host.events.on as (event: K, listener: (...args: SymphonyEventMap[K]) => void) => void)(event, guarded);
    this.unsubscribes.push(() => (this.host.events.off as (event: K, listener: (...args: SymphonyEventMap[K]) => void) => void)(event, guarded));
  }

  private isWriter(room: string): boolean {
    if (!this.host.isWriter(room)) return false;
    this.writtenHere.add(room);
    return true;
  }

  private emit<T extends WebhookEventType>(type: T, data: WebhookEventData[T], createdAt = new Date()): void {
    if (!this.dispatcher.wants(type)) return;
    const event: WebhookEvent<T> = { id: `evt_${randomUUID()}`, type, createdAt: createdAt.toISOString(), data };
    this.dispatcher.enqueue(event as WebhookEvent);
  }

  /** Called on every applied update (the hot path): a map lookup, and a timer once per interval. */
  private scheduleUpdate(room: string): void {
    if (this.pendingUpdates.has(room)) return;
    const sentAt = this.lastUpdateSentAt.get(room) ?? -Infinity;
    const delayMs = Math.max(0, sentAt + this.documentUpdatedIntervalMs - Date.now());
    const timer = setTimeout(() => void this.flushUpdate(room), delayMs);
    timer.unref();
    this.pendingUpdates.set(room, timer);
  }

  private async flushUpdate(room: string): Promise<void> {
    const timer = this.pendingUpdates.get(room);
    if (!timer) return;
    clearTimeout(timer);
    this.pendingUpdates.delete(room);
    if (!this.isWriter(room) && !this.writtenHere.has(room)) return;
    // The interval counts from here, and the event is dated here: reading a stored document may take a while.
    const sentAt = Date.now();
    this.lastUpdateSentAt.set(room, sentAt);
    try {
      const summary = await this.host.documentSummary(room);
      if (summary === null) return;
      this.emit('document.updated', { room, documentBytes: summary.documentBytes, stateVector: Buffer.from(summary.stateVector).toString('base64') }, new Date(sentAt));
    } catch (error) {
      this.logger.warn({ err: error, room }, 'document.updated not sent: the document could not be read');
    }
  }
}
