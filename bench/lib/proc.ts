/** Starting servers under test pinned to a core, and reading their CPU and memory from /proc. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  epochMs: number;
  cpuMs: number;
  rssBytes: number;
  /** time the main thread spent runnable but waiting for a CPU (other processes on its core), ms */
  waitMs: number;
}

/** utime + stime of a process (all its threads), in ms, and its resident set size. */
export function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the ")" that closes the command name
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    let waitMs = 0;
    try {
      waitMs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
    } catch {
      /* no schedstat */
    }
    return { epochMs: Date.now(), cpuMs: ((utime + stime) * 1000) / CLK_TCK, rssBytes: rss ? Number(rss[1]) * 1024 : 0, waitMs };
  } catch {
    return null;
  }
}

export class Sampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.take();
    this.timer = setInterval(() => this.take(), this.intervalMs);
  }

  take(): void {
    const sample = readProc(this.pid);
    if (sample) this.samples.push(sample);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.take();
  }

  /** CPU ms used and wall ms elapsed between the samples nearest inside [fromMs, toMs]. */
  window(fromMs: number, toMs: number): { cpuMs: number; wallMs: number; waitMs: number; rssMedian: number; rssMax: number } | null {
    const inside = this.samples.filter((sample) => sample.epochMs >= fromMs && sample.epochMs <= toMs);
    if (inside.length < 2) return null;
    const first = inside[0];
    const last = inside[inside.length - 1];
    const rss = inside.map((sample) => sample.rssBytes).sort((x, y) => x - y);
    return { cpuMs: last.cpuMs - first.cpuMs, wallMs: last.epochMs - first.epochMs, waitMs: last.waitMs - first.waitMs, rssMedian: rss[Math.floor(rss.length / 2)], rssMax: rss[rss.length - 1] };
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before answering ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not answer ${url} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Spawns `node <args>` pinned to `core` with taskset (taskset execs node: same pid). */
export function spawnPinned(core: string | null, args: string[], env: NodeJS.ProcessEnv, logFile: string | null, nice = 0): ChildProcess {
  let cmd = process.execPath;
  let argv = args;
  if (core !== null) {
    argv = ['-c', core, cmd, ...argv];
    cmd = 'taskset';
  }
  if (nice !== 0) {
    argv = ['-n', String(nice), cmd, ...argv];
    cmd = 'nice';
  }
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logFile) {
    const log = createWriteStream(logFile);
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  return child;
}

export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export function pinSelf(core: string): void {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', core, String(process.pid)], { stdio: 'ignore' });
  } catch {
    /* taskset missing: not pinned */
  }
}

/** Share of all cores busy over `ms` (from /proc/stat), 0–1. */
export async function machineBusy(ms = 2000): Promise<number> {
  const read = () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = line[3] + (line[4] ?? 0);
    const total = line.reduce((sum, ticks) => sum + ticks, 0);
    return { idle, total };
  };
  const before = read();
  await sleep(ms);
  const after = read();
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

/**
 * On a shared machine, waits (up to maxWaitMs) until other processes leave most of it idle, so a
 * run does not start in the middle of someone else's build. Returns the busy share it started at.
 */
export async function waitForQuiet(threshold: number, maxWaitMs: number, log: (s: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await machineBusy();
  let said = false;
  while (busy > threshold && Date.now() < deadline) {
    if (!said) log(`(machine ${Math.round(busy * 100)}% busy, waiting up to ${Math.round(maxWaitMs / 1000)} s for quiet) `);
    said = true;
    await sleep(3000);
    busy = await machineBusy();
  }
  return busy;
}
