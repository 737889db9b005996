/**
 * Polls the server's own numbers from Symphony's dashboard API (`/admin/api/stats`).
 *
 * The tool must not mistake a saturated generator for a slow server, and it cannot see the server's
 * process; the dashboard can. The response is read leniently: we look for a CPU figure (a percentage,
 * or cumulative user/system time from which we derive one) and a resident memory figure, by the
 * usual key names, anywhere in the JSON.
 */
export interface ServerSample {
  /** ms since run start */
  t: number;
  cpuPercent: number | null;
  rssBytes: number | null;
  heapUsedBytes: number | null;
}

export function statsUrlFrom(dashboard: string): string {
  const u = new URL(dashboard);
  if (/\/api\/stats\/?$/.test(u.pathname)) return u.toString();
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith('/admin') ? `${path}/api/stats` : `${path}/admin/api/stats`;
  return u.toString();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Depth-first search for the first numeric value whose key path (lower-cased) matches; shallower keys first. */
function findNumber(value: Json, matches: (path: string[]) => boolean, path: string[] = []): number | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === 'number' && Number.isFinite(child) && matches([...path, key.toLowerCase()])) return child;
  }
  for (const [key, child] of Object.entries(value)) {
    if (child && typeof child === 'object') {
      const found = findNumber(child, matches, [...path, key.toLowerCase()]);
      if (found !== null) return found;
    }
  }
  return null;
}

const lastKey = (path: string[]) => path[path.length - 1];
const underCpu = (path: string[]) => path.some((key) => key.includes('cpu'));
const isShareWord = (key: string) => key === 'percent' || key === 'pct' || key === 'usage';

/** A CPU percentage: `cpuPercent`, `cpu_usage`, or `percent` under a `cpu` key (not a core count). */
function isCpuPercent(path: string[]): boolean {
  const key = lastKey(path);
  if (key.includes('count')) return false;
  return (key.includes('cpu') && (key.includes('percent') || key.includes('pct') || key.includes('usage'))) || (isShareWord(key) && underCpu(path));
}

export function extractStats(body: Json): { cpuPercent: number | null; cpuTimeMs: number | null; rssBytes: number | null; heapUsedBytes: number | null } {
  const cpuPercent = findNumber(body, isCpuPercent);
  const user = findNumber(body, (path) => lastKey(path) === 'user' && underCpu(path));
  const system = findNumber(body, (path) => lastKey(path) === 'system' && underCpu(path));
  // Cumulative user and system time as process.cpuUsage() reports them, in microseconds.
  const cpuTimeMs = user !== null && system !== null ? (user + system) / 1000 : null;
  const rssBytes = findNumber(body, (path) => lastKey(path) === 'rss' || lastKey(path) === 'rssbytes');
  const heapUsedBytes = findNumber(body, (path) => lastKey(path) === 'heapused' || lastKey(path) === 'heapusedbytes');
  return { cpuPercent, cpuTimeMs, rssBytes, heapUsedBytes };
}

export class ServerStatsPoller {
  readonly samples: ServerSample[] = [];
  readonly url: string;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private previousCpu: { t: number; ms: number } | null = null;
  private inFlight = false;

  constructor(
    dashboard: string,
    private readonly token: string | undefined,
    private readonly intervalMs: number,
    private readonly clock: () => number,
  ) {
    this.url = statsUrlFrom(dashboard);
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      const response = await fetch(this.url, { headers, signal: AbortSignal.timeout(Math.max(1000, this.intervalMs)) });
      if (!response.ok) {
        this.lastError = `HTTP ${response.status} from ${this.url}`;
        return;
      }
      const stats = extractStats((await response.json()) as Json);
      const t = this.clock();
      this.samples.push({ t, cpuPercent: this.cpuPercent(stats, t), rssBytes: stats.rssBytes, heapUsedBytes: stats.heapUsedBytes });
      this.lastError = null;
    } catch (error) {
      this.lastError = `${(error as Error).message} (${this.url})`;
    } finally {
      this.inFlight = false;
    }
  }

  /** The percentage the server reports, or one derived from its cumulative CPU time since the previous poll. */
  private cpuPercent(stats: ReturnType<typeof extractStats>, t: number): number | null {
    if (stats.cpuPercent !== null || stats.cpuTimeMs === null) return stats.cpuPercent;
    const previous = this.previousCpu;
    this.previousCpu = { t, ms: stats.cpuTimeMs };
    return previous && t > previous.t ? ((stats.cpuTimeMs - previous.ms) / (t - previous.t)) * 100 : null;
  }

}
