import type { MetadataRecorder, MetadataRecorderStats } from './metadata/recorder.js';
import type { Symphony } from '../core/symphony.js';
import type { WebhookStats } from '../core/webhooks/webhook-wire-types.js';

/** One point of the page's chart. */
export interface DashboardSample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly rooms: number;
  readonly connections: number;
  readonly messagesInPerSecond: number;
  readonly messagesOutPerSecond: number;
}

/** The answer of `GET /api/stats`, and the `totals` event of the stream. */
export interface DashboardStats {
  readonly nodeId: string;
  readonly at: string;
  readonly uptimeMs: number;
  readonly accepting: boolean;
  /** Rooms loaded on this node. */
  readonly rooms: number;
  readonly connections: number;
  /** Over the last sample interval. */
  readonly messagesPerSecond: { readonly in: number; readonly out: number };
  /** Since start. */
  readonly messages: { readonly in: number; readonly out: number };
  readonly connectionsOpened: number;
  readonly connectionsRejected: number;
  readonly protocolErrors: number;
  readonly droppedReadOnlyUpdates: number;
  readonly roomLoadFailures: number;
  readonly checkpoints: { readonly written: number; readonly failed: number };
  /** Loaded rooms served from damaged storage or unable to write, and the totals behind them since start. */
  readonly storage: { readonly roomsDamaged: number; readonly roomsUnwritable: number; readonly damageFound: number; readonly updatesRefused: number };
  readonly memory: { readonly rssBytes: number; readonly heapUsedBytes: number; readonly heapTotalBytes: number; readonly externalBytes: number };
  /** CPU time of the process since start, in microseconds (`process.cpuUsage()`): readers derive utilisation from two samples. */
  readonly cpu: { readonly user: number; readonly system: number };
  readonly metadata: MetadataRecorderStats;
  readonly eventStreamClients: number;
  /** Webhook delivery totals (`GET /api/webhooks` has the recent deliveries). */
  readonly webhooks: WebhookStats;
}

/**
 * Samples Symphony's counters at a fixed interval. The counters only grow; rates are the
 * difference between two samples, so reading stats never resets anything another reader needs.
 */
export class StatsSampler {
  private readonly samples: DashboardSample[] = [];
  private readonly listeners = new Set<(sample: DashboardSample) => void>();
  private readonly timer: NodeJS.Timeout;
  private previous: { at: number; messagesIn: number; messagesOut: number };
  private rates = { in: 0, out: 0 };

  constructor(
    private readonly symphony: Symphony,
    private readonly recorder: MetadataRecorder,
    private readonly eventStreamClients: () => number,
    intervalMs: number,
    private readonly historySamples: number,
  ) {
    const stats = symphony.stats();
    this.previous = { at: performance.now(), messagesIn: stats.messagesIn, messagesOut: stats.messagesOut };
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Called after each sample, with it. */
  onSample(listener: (sample: DashboardSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The recent samples, oldest first. */
  history(): readonly DashboardSample[] {
    return this.samples;
  }

  current(): DashboardStats {
    const stats = this.symphony.stats();
    return {
      nodeId: stats.nodeId,
      at: new Date().toISOString(),
      uptimeMs: stats.uptimeMs,
      accepting: stats.accepting,
      rooms: stats.rooms,
      connections: stats.connections,
      messagesPerSecond: this.rates,
      messages: { in: stats.messagesIn, out: stats.messagesOut },
      connectionsOpened: stats.connectionsOpened,
      connectionsRejected: stats.connectionsRejected,
      protocolErrors: stats.protocolErrors,
      droppedReadOnlyUpdates: stats.droppedReadOnlyUpdates,
      roomLoadFailures: stats.roomLoadFailures,
      checkpoints: { written: stats.checkpoints, failed: stats.checkpointFailures },
      storage: {
        roomsDamaged: stats.roomsDamaged,
        roomsUnwritable: stats.roomsUnwritable,
        damageFound: stats.storageDamageFound,
        updatesRefused: stats.updatesRefusedUnwritable,
      },
      memory: {
        rssBytes: stats.memory.rss,
        heapUsedBytes: stats.memory.heapUsed,
        heapTotalBytes: stats.memory.heapTotal,
        externalBytes: stats.memory.external,
      },
      cpu: stats.cpu,
      metadata: this.recorder.stats(),
      eventStreamClients: this.eventStreamClients(),
      webhooks: stats.webhooks,
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private sample(): void {
    const stats = this.symphony.stats();
    const now = performance.now();
    const seconds = (now - this.previous.at) / 1000;
    this.rates = {
      in: round((stats.messagesIn - this.previous.messagesIn) / seconds),
      out: round((stats.messagesOut - this.previous.messagesOut) / seconds),
    };
    this.previous = { at: now, messagesIn: stats.messagesIn, messagesOut: stats.messagesOut };
    const sample: DashboardSample = {
      at: Date.now(),
      rooms: stats.rooms,
      connections: stats.connections,
      messagesInPerSecond: this.rates.in,
      messagesOutPerSecond: this.rates.out,
    };
    this.samples.push(sample);
    if (this.samples.length > this.historySamples) this.samples.shift();
    for (const listener of this.listeners) listener(sample);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
