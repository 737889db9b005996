/**
 * A small log-bucketed latency histogram (values in microseconds, ~1 % resolution).
 *
 * Cheap to record into (one Math.log per value), mergeable (bucket-wise sums), and compact to
 * ship between worker threads (one Uint32Array). Percentiles are reported as the geometric
 * middle of the bucket, so they are within ±1 % of the true value; `max` is exact.
 */
const BASE = 1.02;
const INV_LOG_BASE = 1 / Math.log(BASE);
export const BUCKETS = 1000; // BASE^999 µs ≈ 390 s: more than any latency we care about

export interface HistogramData {
  counts: Uint32Array;
  count: number;
  sum: number;
  max: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class Histogram implements HistogramData {
  counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(us: number): void {
    if (us < 0) us = 0;
    let bucket = us < 1 ? 0 : Math.floor(Math.log(us) * INV_LOG_BASE) + 1;
    if (bucket >= BUCKETS) bucket = BUCKETS - 1;
    this.counts[bucket]++;
    this.count++;
    this.sum += us;
    if (us > this.max) this.max = us;
  }

  merge(other: HistogramData): void {
    const counts = this.counts;
    const added = other.counts;
    for (let bucket = 0; bucket < BUCKETS; bucket++) counts[bucket] += added[bucket];
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  /** Value (µs) at quantile q in [0, 1]. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        if (i === 0) return 0.5;
        const mid = Math.pow(BASE, i - 0.5);
        return Math.min(mid, this.max);
      }
    }
    return this.max;
  }

  /** Summary in milliseconds. */
  summaryMs(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      mean: this.count ? ms(this.sum / this.count) : 0,
      p50: ms(this.quantile(0.5)),
      p95: ms(this.quantile(0.95)),
      p99: ms(this.quantile(0.99)),
      max: ms(this.max),
    };
  }

  /** Returns the data and resets this histogram (for per-window snapshots). */
  take(): HistogramData {
    const data: HistogramData = { counts: this.counts, count: this.count, sum: this.sum, max: this.max };
    this.counts = new Uint32Array(BUCKETS);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
    return data;
  }

  static from(data: HistogramData): Histogram {
    const histogram = new Histogram();
    histogram.merge(data);
    return histogram;
  }
}
