/**
 * Counts events per key (a client address, a connection id) in fixed windows of `windowMs`, and
 * says when a key has used up its `limit` for the current window.
 *
 * Memory is bounded by `maxKeys`, whatever the keys an attacker makes up: windows that ended are
 * swept as new keys arrive, and when every tracked key is still in its window the oldest is
 * forgotten (which at worst lets that one key start over early).
 */
export interface RateLimiterOptions {
  /** Events a key may have per window; the next one is over the limit. */
  readonly limit: number;
  readonly windowMs: number;
  /** Keys tracked at once. @default 10_000 */
  readonly maxKeys?: number;
}

interface Window {
  readonly startedAt: number;
  count: number;
}

export class RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly maxKeys: number;
  /** In order of window start: the first entries are the first to expire. */
  private readonly windows = new Map<string, Window>();

  constructor(options: RateLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit <= 0) throw new RangeError(`"limit" must be a positive integer, got ${String(options.limit)}`);
    if (!Number.isFinite(options.windowMs) || options.windowMs <= 0) throw new RangeError(`"windowMs" must be a positive number, got ${String(options.windowMs)}`);
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /**
   * Counts one event of `key` and returns how many `key` had in the current window, this one
   * included: above `limit` means over the limit, exactly `limit + 1` the first time it was.
   */
  hit(key: string, now = Date.now()): number {
    let window = this.current(key, now);
    if (!window) {
      this.sweep(now);
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    return ++window.count;
  }

  /** Whether `key` has used up its limit in the current window (without counting an event). */
  isLimited(key: string, now = Date.now()): boolean {
    return (this.current(key, now)?.count ?? 0) >= this.limit;
  }

  /** Milliseconds until `key`'s window ends (0 when it has none): what a `Retry-After` should say. */
  retryAfterMs(key: string, now = Date.now()): number {
    const window = this.current(key, now);
    return window ? window.startedAt + this.windowMs - now : 0;
  }

  /** Keys tracked now (for tests and diagnostics). */
  get size(): number {
    return this.windows.size;
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && now - window.startedAt >= this.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.startedAt < this.windowMs && this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
