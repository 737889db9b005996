/**
 * Calls `onExpired` for each item once its time has come, with one timer for all of them: items
 * fall into buckets `resolutionMs` wide, and a single timer, armed only while items wait, visits
 * the buckets that are due. Thousands of connections with their own expiry cost one timer, not
 * thousands; an item expires at most `resolutionMs` late.
 */
export class ExpiryWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly bucketOf = new Map<T, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onExpired: (item: T) => void,
    private readonly resolutionMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.bucketOf.size;
  }

  /** Schedules `item` to expire at `atMs` (epoch milliseconds); a time already past expires it at the next tick. */
  add(item: T, atMs: number): void {
    this.delete(item);
    // Rounded up, so that no item expires early.
    const bucket = Math.ceil(atMs / this.resolutionMs);
    let items = this.buckets.get(bucket);
    if (!items) this.buckets.set(bucket, (items = new Set()));
    items.add(item);
    this.bucketOf.set(item, bucket);
    this.timer ??= this.arm();
  }

  delete(item: T): void {
    const bucket = this.bucketOf.get(item);
    if (bucket === undefined) return;
    this.bucketOf.delete(item);
    const items = this.buckets.get(bucket);
    items?.delete(item);
    if (items?.size === 0) this.buckets.delete(bucket);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.buckets.clear();
    this.bucketOf.clear();
  }

  private arm(): NodeJS.Timeout {
    const now = this.now();
    // At the next bucket boundary, so that an item expires at most `resolutionMs` late.
    const timer = setTimeout(() => this.tick(), (Math.floor(now / this.resolutionMs) + 1) * this.resolutionMs - now);
    // Expiries must not keep a process alive that has nothing else to do.
    timer.unref();
    return timer;
  }

  private tick(): void {
    this.timer = null;
    const due = Math.floor(this.now() / this.resolutionMs);
    for (const [bucket, items] of this.buckets) {
      if (bucket > due) continue;
      this.buckets.delete(bucket);
      for (const item of items) {
        this.bucketOf.delete(item);
        this.onExpired(item);
      }
    }
    if (this.bucketOf.size > 0) this.timer = this.arm();
  }
}
