import type { Logger } from '../logger.js';
import type { ResolvedWebhookEndpoint, ResolvedWebhookOptions } from './webhook-options.js';
import { SIGNATURE_HEADER, signWebhook } from './signature.js';
import type { WebhookDeliveryRecord, WebhookDeliveryState, WebhookEvent, WebhookStats, WebhookStatus } from './webhook-wire-types.js';

/** One event on its way to one endpoint. */
interface Delivery {
  readonly key: number;
  readonly event: WebhookEvent;
  /** Serialised once: every attempt sends (and signs) the same bytes. */
  readonly body: string;
  readonly endpoint: ResolvedWebhookEndpoint;
  readonly queuedAt: number;
  state: 'pending' | 'sending' | 'retrying';
  attempts: number;
  status: number | null;
  lastError: string | null;
  retryTimer: NodeJS.Timeout | null;
}

/** Recent deliveries the dashboard shows; older ones live on only in the totals. */
const RECENT_DELIVERIES = 100;

/**
 * Sends webhook events off the hot path: `enqueue` only queues, and a few requests at a time
 * (`concurrency`) are sent with a timeout. A failed attempt (non-2xx, timeout, network error) is
 * retried with exponential back-off until the event is `retryForMs` old. At most
 * `maxQueuedDeliveries` wait at once; beyond that the oldest waiting one is dropped and counted.
 */
export class WebhookDispatcher {
  /** Every delivery not yet done, in the order it was queued (oldest first). */
  private readonly held = new Map<number, Delivery>();
  /** Deliveries due now, first come first sent. */
  private readonly ready: Delivery[] = [];
  private readonly recent = new Map<number, WebhookDeliveryRecord>();
  private readonly totals = { delivered: 0, failedAttempts: 0, failed: 0, dropped: 0 };
  private readonly shutdown = new AbortController();
  private readonly idleWaiters = new Set<() => void>();
  private nextKey = 0;
  private inFlight = 0;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: ResolvedWebhookOptions,
    private readonly logger: Logger,
  ) {}

  /** True if at least one endpoint wants events of this type: callers skip building the payload otherwise. */
  wants(type: WebhookEvent['type']): boolean {
    return this.options.endpoints.some((endpoint) => endpoint.events.has(type));
  }

  /** Queues `event` for every endpoint subscribed to its type; returns at once. Ignored after `close()`. */
  enqueue(event: WebhookEvent): void {
    if (this.closing) return;
    let body: string | null = null;
    for (const endpoint of this.options.endpoints) {
      if (!endpoint.events.has(event.type)) continue;
      body ??= JSON.stringify(event);
      if (this.held.size >= this.options.maxQueuedDeliveries) this.dropOldest();
      const delivery: Delivery = { key: this.nextKey++, event, body, endpoint, queuedAt: Date.now(), state: 'pending', attempts: 0, status: null, lastError: null, retryTimer: null };
      this.held.set(delivery.key, delivery);
      this.ready.push(delivery);
      this.record(delivery, 'pending');
    }
    this.pump();
  }

  status(): WebhookStatus {
    return {
      endpoints: this.options.endpoints.map((endpoint) => ({ url: endpoint.url, events: [...endpoint.events] })),
      stats: this.stats(),
      deliveries: [...this.recent.values()].reverse(),
    };
  }

  stats(): WebhookStats {
    return { endpoints: this.options.endpoints.length, queued: this.held.size, ...this.totals };
  }

  /**
   * Stops taking events and sends what is queued (retries included, once more) for at most
   * `closeTimeoutMs`; then aborts what is in flight and drops the rest, counted. Safe to call again.
   */
  close(): Promise<void> {
    this.closing ??= this.flush();
    return this.closing;
  }

  private async flush(): Promise<void> {
    for (const delivery of this.held.values()) {
      if (delivery.state !== 'retrying') continue;
      this.makeReady(delivery);
    }
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.closeTimeoutMs);
    });
    await Promise.race([this.idle(), timedOut]);
    clearTimeout(timer);
    this.shutdown.abort();
    await this.idle();
    const left = [...this.held.values()];
    for (const delivery of left) this.finish(delivery, 'dropped');
    this.totals.dropped += left.length;
    if (left.length > 0) this.logger.warn({ dropped: left.length }, 'webhook deliveries dropped at shutdown: the receivers did not answer in time');
  }

  /** Resolves once nothing is in flight and nothing is due (retries waiting on a timer do not count). */
  private idle(): Promise<void> {
    if (this.inFlight === 0 && this.ready.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.ready.length > 0) {
      void this.send(this.ready.shift() as Delivery);
    }
    if (this.inFlight === 0 && this.ready.length === 0) {
      for (const resolve of this.idleWaiters) resolve();
      this.idleWaiters.clear();
    }
  }

  private async send(delivery: Delivery): Promise<void> {
    this.inFlight++;
    delivery.state = 'sending';
    delivery.attempts++;
    const { endpoint, body } = delivery;
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'symphony-webhooks', [SIGNATURE_HEADER]: signWebhook(body, endpoint.secret) },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.requestTimeoutMs), this.shutdown.signal]),
        redirect: 'manual',
      });
      delivery.status = response.status;
      // The answer's body is not used; reading it lets the connection be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) {
        this.totals.delivered++;
        delivery.lastError = null;
        this.finish(delivery, 'delivered');
      } else {
        this.fail(delivery, `HTTP ${response.status}`);
      }
    } catch (error) {
      delivery.status = null;
      this.fail(delivery, describeError(error, this.options.requestTimeoutMs));
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  private fail(delivery: Delivery, reason: string): void {
    this.totals.failedAttempts++;
    delivery.lastError = reason;
    const context = { url: delivery.endpoint.url, event: delivery.event.type, eventId: delivery.event.id, room: delivery.event.data.room, attempts: delivery.attempts, reason };
    if (this.closing) return; // flush() drops and counts what is left
    if (Date.now() - delivery.queuedAt >= this.options.retryForMs) {
      this.totals.failed++;
      this.finish(delivery, 'failed');
      this.logger.warn(context, 'webhook delivery given up: the receiver kept failing');
      return;
    }
    const delayMs = Math.min(this.options.initialRetryDelayMs * 2 ** (delivery.attempts - 1), this.options.maxRetryDelayMs);
    delivery.state = 'retrying';
    delivery.retryTimer = setTimeout(() => this.makeReady(delivery), delayMs);
    delivery.retryTimer.unref();
    this.record(delivery, 'retrying');
    this.logger.info({ ...context, retryInMs: delayMs }, 'webhook delivery failed; retrying');
  }

  private makeReady(delivery: Delivery): void {
    if (delivery.retryTimer) clearTimeout(delivery.retryTimer);
    delivery.retryTimer = null;
    delivery.state = 'pending';
    this.ready.push(delivery);
    this.pump();
  }

  /** Drops the oldest delivery that is not being sent right now, counted. */
  private dropOldest(): void {
    for (const delivery of this.held.values()) {
      if (delivery.state === 'sending') continue;
      const at = this.ready.indexOf(delivery);
      if (at !== -1) this.ready.splice(at, 1);
      this.totals.dropped++;
      this.finish(delivery, 'dropped');
      this.logger.warn({ url: delivery.endpoint.url, event: delivery.event.type, eventId: delivery.event.id, room: delivery.event.data.room }, 'webhook delivery dropped: the queue is full');
      return;
    }
  }

  private finish(delivery: Delivery, state: WebhookDeliveryState): void {
    if (delivery.retryTimer) clearTimeout(delivery.retryTimer);
    delivery.retryTimer = null;
    this.held.delete(delivery.key);
    this.record(delivery, state);
  }

  private record(delivery: Delivery, state: WebhookDeliveryState): void {
    this.recent.delete(delivery.key);
    this.recent.set(delivery.key, {
      eventId: delivery.event.id,
      event: delivery.event.type,
      room: delivery.event.data.room,
      url: delivery.endpoint.url,
      state,
      status: delivery.status,
      attempts: delivery.attempts,
      lastError: delivery.lastError,
      updatedAt: new Date().toISOString(),
    });
    if (this.recent.size > RECENT_DELIVERIES) this.recent.delete(this.recent.keys().next().value as number);
  }
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (error instanceof Error && error.name === 'AbortError') return 'aborted at shutdown';
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error instanceof Error ? error.message : String(error)}${cause}`;
}
