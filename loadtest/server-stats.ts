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

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Depth-first search for the first numeric value whose key path matches. */
function findNumber(obj: Json, test: (path: string[]) => boolean, path: string[] = []): number | null {
  if (obj === null || typeof obj !== 'object') return null;
  if (Array.isArray(obj)) return null;
  for (const [k, v] of Object.entries(obj)) {
    const p = [...path, k];
    if (typeof v === 'number' && Number.isFinite(v) && test(p)) return v;
  }
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object') {
      const r = findNumber(v, test, [...path, k]);
      if (r !== null) return r;
    }
  }
  return null;
}

const lc = (p: string[]) => p.map((s) => s.toLowerCase());

export function extractStats(body: Json): { cpuPercent: number | null; cpuTimeMs: number | null; rssBytes: number | null; heapUsedBytes: number | null } {
  const cpuPercent = findNumber(body, (p) => {
    const l = lc(p);
    const last = l[l.length - 1];
    return (
      ((last.includes('cpu') && (last.includes('percent') || last.includes('pct') || last.includes('usage'))) ||
        ((last === 'percent' || last === 'pct' || last === 'usage') && l.some((s) => s.includes('cpu')))) &&
      !last.includes('count')
    );
  });
  let cpuTimeMs: number | null = null;
  const user = findNumber(body, (p) => {
    const l = lc(p);
    return l[l.length - 1] === 'user' && l.some((s) => s.includes('cpu'));
  });
  const system = findNumber(body, (p) => {
    const l = lc(p);
    return l[l.length - 1] === 'system' && l.some((s) => s.includes('cpu'));
  });
  // process.cpuUsage() reports microseconds
  if (user !== null && system !== null) cpuTimeMs = (user + system) / 1000;
  const rssBytes = findNumber(body, (p) => lc(p)[p.length - 1] === 'rss' || lc(p)[p.length - 1] === 'rssbytes');
  const heapUsedBytes = findNumber(body, (p) => {
    const last = lc(p)[p.length - 1];
    return last === 'heapused' || last === 'heapusedbytes';
  });
  return { cpuPercent, cpuTimeMs, rssBytes, heapUsedBytes };
}

export class ServerStatsPoller {
  readonly samples: ServerSample[] = [];
  readonly url: string;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private prevCpu: { t: number; ms: number } | null = null;
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
      const res = await fetch(this.url, { headers, signal: AbortSignal.timeout(Math.max(1000, this.intervalMs)) });
      if (!res.ok) {
        this.lastError = `HTTP ${res.status} from ${this.url}`;
        return;
      }
      const body = (await res.json()) as Json;
      const t = this.clock();
      const s = extractStats(body);
      let cpu = s.cpuPercent;
      if (cpu === null && s.cpuTimeMs !== null) {
        if (this.prevCpu && t > this.prevCpu.t) cpu = ((s.cpuTimeMs - this.prevCpu.ms) / (t - this.prevCpu.t)) * 100;
        this.prevCpu = { t, ms: s.cpuTimeMs };
      }
      this.samples.push({ t, cpuPercent: cpu, rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes });
      this.lastError = null;
    } catch (err) {
      this.lastError = `${(err as Error).message} (${this.url})`;
    } finally {
      this.inFlight = false;
    }
  }
}
