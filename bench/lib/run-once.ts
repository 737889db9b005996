/**
 * One measured run: a fresh server under test pinned to its core, the load generator (the
 * shipped CLI, loadtest/cli.ts) pinned to the other, both sampled from /proc once a second.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadTestResult } from '../../loadtest/run.js';
import { median } from './figures.js';
import type { BenchOptions } from './options.js';
import { Sampler, freePort, readProc, sleep, spawnPinned, stopProcess, waitForHttp, waitForQuiet } from './proc.js';
import type { ServerDef } from './servers.js';

/** The load of one run, as the generator's flags give it. */
export interface LoadSpec {
  users: number;
  roomSize: number;
  docRate: number;
  presenceRate: number;
  durationMs: number;
  rampMs: number;
  /** More generator flags (a doc mix, a preload). */
  extraArgs?: string[];
}

/** The server's memory after a forced full GC (written by bench/servers/gc-hook.ts). */
export interface MemoryProbe {
  at: number;
  gc: boolean;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Open sockets of the server when probed (/proc/<pid>/fd): the connections, plus a constant few. */
  sockets: number;
}

/** The sockets a process has open: its connections, its listening socket and a few of Node's own. */
function openSockets(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  } catch {
    return NaN;
  }
}

export interface RawRun {
  /** Share of the machine busy with other work when the run started (NaN when not waited for). */
  busyAtStart: number;
  profileDir?: string;
  result: LoadTestResult;
  sampler: Sampler;
  generatorSampler: Sampler;
  baselineRss: number;
  /** memory after a forced full GC: before the load, half-way through the ramp, and in the middle of the steady phase */
  memoryBefore?: MemoryProbe;
  memoryHalfway?: MemoryProbe;
  memoryDuring?: MemoryProbe;
}

/** The server's start-up (JIT, first garbage) settles this long before its baseline is read. */
const SETTLE_MS = 2000;
/** Longer before a memory probe: the first full GC should find only what the server keeps. */
const SETTLE_BEFORE_MEMORY_PROBE_MS = 4000;
/** How long the generator takes to start sending after it is spawned (tsx compiles it first). */
const GENERATOR_START_MS = 1500;
/** A profiled server writes its profile on exit, which takes a while. */
const PROFILE_EXIT_GRACE_MS = 15_000;
/** The machine counts as quiet below this share of busy cores. */
const QUIET_SHARE = 0.3;

/** The server's node arguments: as defined, or with the memory probe or the CPU profiler preloaded. */
function serverArgs(server: ServerDef, memoryProbe: boolean, profileDir: string | null): string[] {
  const script = server.args.filter((arg, index, all) => !(arg === 'tsx' && all[index - 1] === '--import') && !(arg === '--import' && all[index + 1] === 'tsx'));
  if (memoryProbe) return ['--expose-gc', '--import', 'tsx', '--import', './bench/servers/gc-hook.ts', ...script];
  if (profileDir) return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', 'tsx', '--import', './bench/servers/exit-hook.ts', ...script];
  return server.args;
}

function generatorArgs(server: ServerDef, port: number, spec: LoadSpec, jsonFile: string): string[] {
  return [
    '--import',
    'tsx',
    'loadtest/cli.ts',
    ...['--url', server.url(port), '--protocol', server.protocol],
    ...['--users', String(spec.users), '--room-size', String(spec.roomSize)],
    ...['--doc-rate', String(spec.docRate), '--presence-rate', String(spec.presenceRate)],
    ...['--duration', `${spec.durationMs}ms`, '--ramp', `${spec.rampMs}ms`, '--connect-timeout', '30s'],
    ...['--json', jsonFile, '--quiet'],
    ...(spec.extraArgs ?? []),
  ];
}

/** Asks the server (started with gc-hook.ts) to collect garbage and report its memory. */
async function probeMemory(pid: number, file: string): Promise<MemoryProbe | undefined> {
  const askedAt = Date.now();
  process.kill(pid, 'SIGUSR2');
  for (let attempt = 0; attempt < 50; attempt++) {
    await sleep(100);
    try {
      const probe = JSON.parse(readFileSync(file, 'utf8')) as MemoryProbe;
      if (probe.at >= askedAt) {
        // RSS from /proc a moment after the collection, when freed pages were returned.
        await sleep(300);
        return { ...probe, rss: readProc(pid)?.rssBytes ?? probe.rss, sockets: openSockets(pid) };
      }
    } catch {
      /* not written yet */
    }
  }
  return undefined;
}

/** Median of three RSS readings of the idle server. */
async function idleRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let reading = 0; reading < 3; reading++) {
    readings.push(readProc(pid)?.rssBytes ?? 0);
    await sleep(300);
  }
  return median(readings);
}

interface GeneratorRun {
  result: LoadTestResult;
  generatorSampler: Sampler;
  memoryHalfway?: MemoryProbe;
  memoryDuring?: MemoryProbe;
}

async function runGenerator(server: ChildProcess, args: string[], spec: LoadSpec, options: BenchOptions, logBase: string, memoryFile: string | null): Promise<GeneratorRun> {
  const generator = spawnPinned(options.generatorCore, args, process.env, `${logBase}.generator.log`, options.nice);
  const exited: Promise<number> = new Promise((resolve) => generator.once('exit', (code) => resolve(code ?? 1)));
  const generatorSampler = new Sampler(generator.pid!, 1000);
  generatorSampler.start();
  let memoryDuring: MemoryProbe | undefined;
  let memoryHalfway: MemoryProbe | undefined;
  if (memoryFile) {
    // Half the connections: the difference to the steady phase is what connections cost, without
    // what the first ones cost once (compiled code, the young generation growing to its working size).
    const startedAt = Date.now();
    await sleep(GENERATOR_START_MS + spec.rampMs / 2);
    if (generator.exitCode === null) memoryHalfway = await probeMemory(server.pid!, memoryFile);
    await sleep(Math.max(0, GENERATOR_START_MS + spec.rampMs + spec.durationMs / 2 - (Date.now() - startedAt)));
    if (generator.exitCode === null) memoryDuring = await probeMemory(server.pid!, memoryFile);
  }
  const code = await exited;
  generatorSampler.stop();
  if (server.exitCode !== null) throw new Error(`server exited during the run (code ${server.exitCode}); see ${logBase}.server.log`);
  // 3: a --max-* threshold was missed, which the benchmark does not set: still a complete run.
  if (code !== 0 && code !== 3) throw new Error(`generator exited with ${code}; see ${logBase}.generator.log`);
  const result = JSON.parse(readFileSync(`${logBase}.load.json`, 'utf8')) as LoadTestResult;
  // A probe outside the steady phase measured a ramp or a drain: not comparable.
  if (memoryDuring && (memoryDuring.at < result.timeline.steadyStartMs || memoryDuring.at > result.timeline.steadyEndMs)) memoryDuring = undefined;
  return { result, generatorSampler, memoryHalfway, memoryDuring };
}

/**
 * Runs `spec` against a fresh `server` process. `memoryProbe`: the server runs with a forced-GC
 * hook and its live memory is read before the load and in the middle of the steady phase.
 */
export async function runAgainst(server: ServerDef, spec: LoadSpec, options: BenchOptions, tag: string, memoryProbe = false): Promise<RawRun> {
  const busyAtStart = options.quietWaitMs > 0 ? await waitForQuiet(QUIET_SHARE, options.quietWaitMs, (message) => process.stderr.write(message)) : NaN;
  const port = await freePort();
  const { env, cleanup } = server.env(port);
  const logBase = join(options.outDir, 'logs', tag);
  const memoryFile = `${logBase}.mem.json`;
  const profileDir = !memoryProbe && options.profile ? join(options.outDir, 'profiles', tag) : null;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const serverProcess = spawnPinned(options.serverCore, serverArgs(server, memoryProbe, profileDir), { ...env, BENCH_MEM_FILE: memoryFile }, `${logBase}.server.log`, options.nice);
  try {
    await waitForHttp(server.health(port), 60_000, serverProcess);
    await sleep(memoryProbe ? SETTLE_BEFORE_MEMORY_PROBE_MS : SETTLE_MS);
    const memoryBefore = memoryProbe ? await probeMemory(serverProcess.pid!, memoryFile) : undefined;
    const baselineRss = await idleRss(serverProcess.pid!);
    const sampler = new Sampler(serverProcess.pid!, 1000);
    sampler.start();
    let run: GeneratorRun;
    try {
      run = await runGenerator(serverProcess, generatorArgs(server, port, spec, `${logBase}.load.json`), spec, options, logBase, memoryProbe ? memoryFile : null);
    } finally {
      sampler.stop();
    }
    return { ...run, sampler, baselineRss, memoryBefore, busyAtStart, profileDir: profileDir ?? undefined };
  } finally {
    await stopProcess(serverProcess, options.profile ? PROFILE_EXIT_GRACE_MS : 3000);
    cleanup();
  }
}
