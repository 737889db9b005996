import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Logger } from '../core/logger.js';
import type { Symphony } from '../core/symphony.js';
import type { StreamingBody } from './http.js';
import type { StatsSampler } from './stats.js';

/** A loaded room whose connections, size or activity changed: the `updated` entries of a `rooms` event. */
export interface RoomUpdate {
  readonly name: string;
  readonly loaded: true;
  readonly connections: number;
  readonly documentBytes: number;
  readonly lastActivityAt: string;
}

/** The `rooms` event: rooms loaded or changed since the previous sample, and rooms unloaded. */
export interface RoomsEvent {
  readonly updated: RoomUpdate[];
  readonly unloaded: string[];
}

export interface EventHubOptions {
  readonly eventStreamKeepAliveMs: number;
  readonly replayEvents: number;
  readonly replayWindowMs: number;
  readonly maxBufferedBytes: number;
}

/** How long a browser waits before reconnecting a dropped stream, in milliseconds. */
const RECONNECT_DELAY_MS = 2_000;

/**
 * The dashboard's Server-Sent Events. Events, in the order a client sees them:
 * - `history` `{ samples }`: the chart's recent samples, once per connection;
 * - `ready` (a new stream) or `reset` (a `Last-Event-ID` too old to replay): load the room list now;
 * - `rooms` `{ updated, unloaded }`: rooms loaded, changed or unloaded since the previous sample.
 *   Only these carry ids; after a reconnect with `Last-Event-ID`, the ones missed are replayed;
 * - `totals`: `DashboardStats`, once per sample;
 * and a `: heartbeat` comment every `eventStreamKeepAliveMs`.
 *
 * Room changes are found by comparing the loaded rooms with the previous sample, once per sample
 * interval, rather than by listening to every update: the cost does not depend on the traffic.
 * Tracking runs while a client is connected, and for `replayWindowMs` after the last one left so
 * its reconnect can be replayed; a stream opened after a longer gap is told to reload.
 */
export class EventHub {
  private readonly clients = new Set<EventClient>();
  private readonly unsubscribe: () => void;
  /** Changes whenever continuity is lost, so ids from before the gap are recognised as unreplayable. */
  private epoch = newEpoch();
  private sequence = 0;
  private buffer: { readonly sequence: number; readonly frame: string }[] = [];
  private tracked: Map<string, { connections: number; documentBytes: number; activityMs: number }> | null = null;
  private idleSince: number | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly symphony: Symphony,
    private readonly sampler: StatsSampler,
    private readonly options: EventHubOptions,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = sampler.onSample(() => this.onSample());
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** The body of one `GET /api/events` response. */
  body(lastEventId: string | undefined): StreamingBody {
    return { open: (target, response) => this.connect(target, response, lastEventId) };
  }

  close(): void {
    this.unsubscribe();
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.stopHeartbeat();
    this.tracked = null;
  }

  private connect(target: Writable, response: ServerResponse, lastEventId: string | undefined): void {
    if (!this.tracked) this.startTracking();
    const client = new EventClient(target, this.options.maxBufferedBytes, () => this.remove(client));
    this.clients.add(client);
    this.idleSince = null;
    response.once('close', () => this.remove(client));
    target.once('error', () => this.remove(client));
    this.heartbeat ??= setInterval(() => this.broadcast(': heartbeat\n\n'), this.options.eventStreamKeepAliveMs);
    this.heartbeat.unref();

    client.write(`retry: ${RECONNECT_DELAY_MS}\n\n`);
    client.write(frame('history', { samples: this.sampler.history() }));
    client.write(frame('totals', this.sampler.current()));
    const missed = lastEventId === undefined ? null : this.replayAfter(lastEventId);
    if (missed) {
      for (const event of missed) client.write(event);
    } else {
      client.write(frame(lastEventId === undefined ? 'ready' : 'reset', { nodeId: this.symphony.nodeId }, this.currentId()));
    }
    this.logger.debug({ clients: this.clients.size, replayed: missed?.length ?? 0 }, 'dashboard event stream opened');
  }

  private remove(client: EventClient): void {
    if (!this.clients.delete(client)) return;
    client.end();
    if (this.clients.size === 0) {
      this.idleSince = Date.now();
      this.stopHeartbeat();
    }
  }

  private onSample(): void {
    if (!this.tracked) return;
    if (this.clients.size === 0 && this.idleSince !== null && Date.now() - this.idleSince > this.options.replayWindowMs) {
      this.stopTracking();
      return;
    }
    const changes = this.diffRooms();
    if (changes) this.publish('rooms', changes);
    if (this.clients.size > 0) this.broadcast(frame('totals', this.sampler.current()));
  }

  private startTracking(): void {
    this.tracked = new Map();
    for (const room of this.symphony.rooms()) {
      this.tracked.set(room.name, { connections: room.connections, documentBytes: room.documentBytes, activityMs: room.lastActivityAt.getTime() });
    }
  }

  private stopTracking(): void {
    this.tracked = null;
    this.buffer = [];
    this.epoch = newEpoch();
    this.sequence = 0;
  }

  private diffRooms(): RoomsEvent | null {
    const tracked = this.tracked;
    if (!tracked) return null;
    const updated: RoomUpdate[] = [];
    const present = new Set<string>();
    for (const room of this.symphony.rooms()) {
      present.add(room.name);
      const activityMs = room.lastActivityAt.getTime();
      const before = tracked.get(room.name);
      if (before && before.connections === room.connections && before.documentBytes === room.documentBytes && before.activityMs === activityMs) continue;
      tracked.set(room.name, { connections: room.connections, documentBytes: room.documentBytes, activityMs });
      updated.push({ name: room.name, loaded: true, connections: room.connections, documentBytes: room.documentBytes, lastActivityAt: room.lastActivityAt.toISOString() });
    }
    const unloaded: string[] = [];
    for (const name of tracked.keys()) {
      if (present.has(name)) continue;
      tracked.delete(name);
      unloaded.push(name);
    }
    return updated.length > 0 || unloaded.length > 0 ? { updated, unloaded } : null;
  }

  private publish(event: string, data: unknown): void {
    this.sequence++;
    const encoded = frame(event, data, this.currentId());
    this.buffer.push({ sequence: this.sequence, frame: encoded });
    if (this.buffer.length > this.options.replayEvents) this.buffer.shift();
    this.broadcast(encoded);
  }

  /** The events after `lastEventId`, or null when they cannot all be replayed. */
  private replayAfter(lastEventId: string): string[] | null {
    const match = /^([0-9a-z]+)-(\d+)$/.exec(lastEventId.trim());
    if (!match || match[1] !== this.epoch) return null;
    const seen = Number(match[2]);
    const oldest = this.buffer[0]?.sequence ?? this.sequence + 1;
    if (seen > this.sequence || seen < oldest - 1) return null;
    return this.buffer.filter((event) => event.sequence > seen).map((event) => event.frame);
  }

  private currentId(): string {
    return `${this.epoch}-${this.sequence}`;
  }

  private broadcast(encoded: string): void {
    for (const client of this.clients) client.write(encoded);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** One open stream. */
class EventClient {
  private ended = false;

  constructor(
    private readonly target: Writable,
    private readonly maxBufferedBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  write(encoded: string): void {
    if (this.ended) return;
    if (this.target.writableLength > this.maxBufferedBytes) {
      this.onOverflow();
      return;
    }
    this.target.write(encoded);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.target.end();
  }
}

function frame(event: string, data: unknown, id?: string): string {
  // JSON.stringify never emits a raw line break, so one `data:` line always holds the whole event.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function newEpoch(): string {
  return randomBytes(6).toString('hex');
}
