/**
 * The comparative benchmark: Symphony against the y-websocket reference server, Hocuspocus and a
 * naive ws byte relay, each started as its own process pinned to one core, with the load generator
 * (loadtest/cli.ts, a separate process) pinned to the other. Server CPU and RSS come from /proc.
 *
 *   npm run bench                                     # sweep: 500,1000,2000 users, 60 s, 3 repeats
 *   npm run bench -- --users 500,1000 --duration 30s --repeat 3 --servers symphony,y-websocket
 *   npm run bench -- --quick                          # smoke run: 200 users, 10 s, once
 *   npm run bench -- --soak 10m [--soak-users 1000]   # CPU per user-second as documents grow
 *   npm run bench -- --memory [--memory-connections 10000 --memory-rooms 10000]
 *
 * Writes bench/output/bench-<timestamp>.{json,md} and prints the tables.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../loadtest/args.js';
import { buildPreload, type LoadTestResult } from '../loadtest/run.js';
import { Sampler, freePort, pinSelf, readProc, sleep, spawnPinned, stopProcess, waitForHttp, waitForQuiet } from './lib/proc.js';
import { summariseProfile } from './lib/profile.js';
import { SERVERS, type ServerDef } from './lib/servers.js';

interface BenchOptions {
  mode: 'sweep' | 'soak' | 'memory';
  servers: string[];
  users: number[];
  durationMs: number;
  rampMs: number;
  repeat: number;
  roomSize: number;
  docRate: number;
  presenceRate: number;
  soakMs: number;
  soakUsers: number;
  memoryConnections: number;
  memoryRooms: number;
  memoryPreload: number;
  serverCore: string | null;
  generatorCore: string | null;
  outDir: string;
  p99TargetMs: number;
  explicitRamp: boolean;
  nice: number;
  /** wait for other processes to leave the machine mostly idle before each run (max ms; 0: don't) */
  quietWaitMs: number;
  /** rerun a run whose server or generator waited more than this % of the time for its core */
  contentionRetryPct: number;
  retries: number;
  /** write a V8 CPU profile of each server under test and summarise it */
  profile: boolean;
}

function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    mode: 'sweep',
    servers: ['symphony', 'y-websocket', 'hocuspocus', 'relay'],
    users: [500, 1000, 2000],
    durationMs: 60_000,
    rampMs: 30_000,
    repeat: 3,
    roomSize: 4,
    docRate: 1,
    presenceRate: 5,
    soakMs: 600_000,
    soakUsers: 1000,
    memoryConnections: 10_000,
    memoryRooms: 10_000,
    memoryPreload: 200,
    serverCore: '0',
    generatorCore: '1',
    outDir: 'bench/output',
    p99TargetMs: 50,
    explicitRamp: false,
    nice: 0,
    quietWaitMs: 90_000,
    contentionRetryPct: 20,
    retries: 1,
    profile: false,
  };
  let explicitServers = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        o.users = [200];
        o.durationMs = 10_000;
        o.rampMs = 5_000;
        o.repeat = 1;
        break;
      case '--servers':
        o.servers = val().split(',');
        explicitServers = true;
        break;
      case '--users':
        o.users = val().split(',').map(Number);
        break;
      case '--duration':
        o.durationMs = parseDuration(val());
        break;
      case '--ramp':
        o.rampMs = parseDuration(val());
        o.explicitRamp = true;
        break;
      case '--repeat':
        o.repeat = Number(val());
        break;
      case '--room-size':
        o.roomSize = Number(val());
        break;
      case '--doc-rate':
        o.docRate = Number(val());
        break;
      case '--presence-rate':
        o.presenceRate = Number(val());
        break;
      case '--soak':
        o.mode = 'soak';
        if (argv[i + 1] && !argv[i + 1].startsWith('--')) o.soakMs = parseDuration(argv[++i]);
        else if (inline) o.soakMs = parseDuration(inline);
        break;
      case '--soak-users':
        o.soakUsers = Number(val());
        break;
      case '--memory':
        o.mode = 'memory';
        break;
      case '--memory-connections':
        o.memoryConnections = Number(val());
        break;
      case '--memory-rooms':
        o.memoryRooms = Number(val());
        break;
      case '--memory-preload':
        o.memoryPreload = Number(val());
        break;
      case '--server-core':
        o.serverCore = val();
        break;
      case '--generator-core':
        o.generatorCore = val();
        break;
      case '--no-pin':
        o.serverCore = null;
        o.generatorCore = null;
        break;
      case '--quiet-wait':
        o.quietWaitMs = parseDuration(val());
        break;
      case '--retries':
        o.retries = Number(val());
        break;
      case '--contention-retry':
        o.contentionRetryPct = Number(val());
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--nice':
        o.nice = Number(val());
        break;
      case '--out':
        o.outDir = val();
        break;
      case '--help':
        console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (o.mode === 'soak' && !explicitServers) o.servers = ['symphony'];
  for (const s of o.servers) if (!SERVERS[s]) throw new Error(`unknown server ${s} (known: ${Object.keys(SERVERS).join(', ')})`);
  return o;
}

interface RunRecord {
  server: string;
  users: number;
  repeat: number;
  error: string | null;
  syncedUsers: number;
  serverCpuPercent: number;
  cpuMsPerUserSec: number;
  baselineRssBytes: number;
  rssBytes: number;
  rssPerUserBytes: number;
  docP50: number;
  docP99: number;
  presP50: number;
  presP99: number;
  /** p99 leaving out the seconds in which the generator itself stalled (see LoadTestResult) */
  docP99Clean: number;
  presP99Clean: number;
  cleanWindowsPct: number;
  docMissingPct: number;
  presMissingPct: number;
  echoes: number;
  generatorCpuPercent: number;
  /** % of the measured window the server's / generator's main thread waited for its core (other processes) */
  serverWaitPct: number;
  generatorWaitPct: number;
  generatorSaturated: boolean;
  generatorNotes: string[];
  outMsgPerSec: number;
  inMsgPerSec: number;
  failed: number;
  dropped: number;
  /** per-minute (soak) or per-phase details */
  extra?: unknown;
  profileDir?: string;
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const min = (xs: number[]) => Math.min(...xs.filter(Number.isFinite));
const max = (xs: number[]) => Math.max(...xs.filter(Number.isFinite));
const r2 = (n: number) => (Number.isFinite(n) ? Math.round(n * 100) / 100 : NaN);
const r3 = (n: number) => (Number.isFinite(n) ? Math.round(n * 1000) / 1000 : NaN);

interface LoadSpec {
  users: number;
  roomSize: number;
  docRate: number;
  presenceRate: number;
  durationMs: number;
  rampMs: number;
  extraArgs?: string[];
}

interface MemProbe {
  at: number;
  gc: boolean;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface RawRun {
  busyAtStart: number;
  profileDir?: string;
  result: LoadTestResult;
  sampler: Sampler;
  genSampler: Sampler;
  baselineRss: number;
  /** memory after a forced full GC: before the load, and in the middle of the steady phase */
  memBefore?: MemProbe;
  memDuring?: MemProbe;
}

/** Asks the server (started with gc-hook.ts) to collect garbage and report its memory. */
async function probeMemory(pid: number, file: string): Promise<MemProbe | undefined> {
  const before = Date.now();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as MemProbe;
      if (m.at >= before) {
        // RSS from /proc a moment after the collection
        await sleep(300);
        return { ...m, rss: readProc(pid)?.rssBytes ?? m.rss };
      }
    } catch {
      /* not written yet */
    }
  }
  return undefined;
}

async function runAgainst(def: ServerDef, spec: LoadSpec, o: BenchOptions, tag: string, memProbe = false): Promise<RawRun> {
  const busyAtStart = o.quietWaitMs > 0 ? await waitForQuiet(0.3, o.quietWaitMs, (m) => process.stderr.write(m)) : NaN;
  const port = await freePort();
  const { env, cleanup } = def.env(port);
  const logBase = join(o.outDir, 'logs', `${tag}`);
  const memFile = `${logBase}.mem.json`;
  const rest = def.args.filter((a, i, all) => !(a === 'tsx' && all[i - 1] === '--import') && !(a === '--import' && all[i + 1] === 'tsx'));
  const profileDir = join(o.outDir, 'profiles', tag);
  let args = def.args;
  if (memProbe) args = ['--expose-gc', '--import', 'tsx', '--import', './bench/servers/gc-hook.ts', ...rest];
  else if (o.profile) rmSync(profileDir, { recursive: true, force: true });
  if (!memProbe && o.profile) args = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', 'tsx', '--import', './bench/servers/exit-hook.ts', ...rest];
  const server = spawnPinned(o.serverCore, args, { ...env, BENCH_MEM_FILE: memFile }, `${logBase}.server.log`, o.nice);
  try {
    await waitForHttp(def.health(port), 60_000, server);
    await sleep(memProbe ? 4000 : 2000);
    const memBefore = memProbe ? await probeMemory(server.pid!, memFile) : undefined;
    const base: number[] = [];
    for (let i = 0; i < 3; i++) {
      base.push(readProc(server.pid!)?.rssBytes ?? 0);
      await sleep(300);
    }
    const sampler = new Sampler(server.pid!, 1000);
    sampler.start();
    const jsonFile = `${logBase}.load.json`;
    const genArgs = [
      '--import',
      'tsx',
      'loadtest/cli.ts',
      '--url',
      def.url(port),
      '--protocol',
      def.protocol,
      '--users',
      String(spec.users),
      '--room-size',
      String(spec.roomSize),
      '--doc-rate',
      String(spec.docRate),
      '--presence-rate',
      String(spec.presenceRate),
      '--duration',
      `${spec.durationMs}ms`,
      '--ramp',
      `${spec.rampMs}ms`,
      '--connect-timeout',
      '30s',
      '--json',
      jsonFile,
      '--quiet',
      ...(spec.extraArgs ?? []),
    ];
    const gen = spawnPinned(o.generatorCore, genArgs, process.env, `${logBase}.generator.log`, o.nice);
    const exited: Promise<number> = new Promise((resolve) => gen.once('exit', (c) => resolve(c ?? 1)));
    const genSampler = new Sampler(gen.pid!, 1000);
    genSampler.start();
    let memDuring: MemProbe | undefined;
    if (memProbe) {
      // the middle of the steady phase (the generator takes ~1.5 s to start)
      await sleep(1500 + spec.rampMs + spec.durationMs / 2);
      if (gen.exitCode === null) memDuring = await probeMemory(server.pid!, memFile);
    }
    const code = await exited;
    sampler.stop();
    genSampler.stop();
    if (server.exitCode !== null) throw new Error(`server exited during the run (code ${server.exitCode}); see ${logBase}.server.log`);
    if (code !== 0 && code !== 3) throw new Error(`generator exited with ${code}; see ${logBase}.generator.log`);
    const result = JSON.parse(readFileSync(jsonFile, 'utf8')) as LoadTestResult;
    if (memDuring && (memDuring.at < result.timeline.steadyStartMs || memDuring.at > result.timeline.steadyEndMs)) memDuring = undefined;
    return { result, sampler, genSampler, baselineRss: median(base), memBefore, memDuring, busyAtStart, profileDir: o.profile ? profileDir : undefined };
  } finally {
    await stopProcess(server, o.profile ? 15_000 : 3000);
    cleanup();
  }
}

function summarise(def: ServerDef, raw: RawRun, spec: LoadSpec, repeat: number): RunRecord {
  const { result: r, sampler } = raw;
  const steady = r.timeseries.filter((w) => w.phase === 'steady');
  const synced = steady.length ? median(steady.map((w) => w.synced)) : r.connections.synced;
  // skip the first seconds of the steady phase (JIT, GC settling after the ramp)
  const warm = Math.min(5000, spec.durationMs / 4);
  const win = sampler.window(r.timeline.steadyStartMs + warm, r.timeline.steadyEndMs);
  const gwin = raw.genSampler.window(r.timeline.steadyStartMs + warm, r.timeline.steadyEndMs);
  const cpuMs = win?.cpuMs ?? NaN;
  const wallMs = win?.wallMs ?? NaN;
  const d = r.messages.doc;
  const p = r.messages.presence;
  return {
    server: def.name,
    users: spec.users,
    repeat,
    error: null,
    syncedUsers: synced,
    serverCpuPercent: r2((cpuMs / wallMs) * 100),
    cpuMsPerUserSec: r3(cpuMs / (synced * (wallMs / 1000))),
    baselineRssBytes: raw.baselineRss,
    rssBytes: win?.rssMedian ?? NaN,
    rssPerUserBytes: Math.round(((win?.rssMedian ?? NaN) - raw.baselineRss) / Math.max(1, synced)),
    docP50: r.latencyMs.doc.p50,
    docP99: r.latencyMs.doc.p99,
    presP50: r.latencyMs.presence.p50,
    presP99: r.latencyMs.presence.p99,
    docP99Clean: r.latencyMsWithoutGeneratorStalls?.doc.p99 ?? NaN,
    presP99Clean: r.latencyMsWithoutGeneratorStalls?.presence.p99 ?? NaN,
    cleanWindowsPct: r.latencyMsWithoutGeneratorStalls ? r2((r.latencyMsWithoutGeneratorStalls.windowsKept / Math.max(1, r.latencyMsWithoutGeneratorStalls.windowsTotal)) * 100) : NaN,
    docMissingPct: d.expected ? r3((d.missing / d.expected) * 100) : 0,
    presMissingPct: p.expected ? r3((p.missing / p.expected) * 100) : 0,
    echoes: d.echoes + p.echoes,
    generatorCpuPercent: r.generator.cpuPercent,
    serverWaitPct: win ? r2((win.waitMs / win.wallMs) * 100) : NaN,
    generatorWaitPct: gwin ? r2((gwin.waitMs / gwin.wallMs) * 100) : NaN,
    generatorSaturated: r.generator.saturated,
    generatorNotes: r.generator.saturationReasons,
    outMsgPerSec: r.throughput.outMsgPerSec,
    inMsgPerSec: r.throughput.inMsgPerSec,
    failed: r.connections.failed,
    dropped: r.connections.dropped,
    profileDir: raw.profileDir,
  };
}

const failedRecord = (server: string, users: number, repeat: number, error: string): RunRecord => ({
  server,
  users,
  repeat,
  error,
  syncedUsers: 0,
  serverCpuPercent: NaN,
  cpuMsPerUserSec: NaN,
  baselineRssBytes: NaN,
  rssBytes: NaN,
  rssPerUserBytes: NaN,
  docP50: NaN,
  docP99: NaN,
  presP50: NaN,
  presP99: NaN,
  docP99Clean: NaN,
  presP99Clean: NaN,
  cleanWindowsPct: NaN,
  docMissingPct: NaN,
  presMissingPct: NaN,
  echoes: 0,
  generatorCpuPercent: NaN,
  serverWaitPct: NaN,
  generatorWaitPct: NaN,
  generatorSaturated: false,
  generatorNotes: [],
  outMsgPerSec: NaN,
  inMsgPerSec: NaN,
  failed: 0,
  dropped: 0,
});

function machineInfo() {
  const cpus = os.cpus();
  const versions: Record<string, string> = {};
  for (const pkg of ['@y/websocket-server', '@hocuspocus/server', 'ws', 'yjs', 'y-protocols']) {
    try {
      versions[pkg] = JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')).version;
    } catch {
      versions[pkg] = '?';
    }
  }
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    /* not a git checkout */
  }
  return {
    cpu: `${cpus[0]?.model ?? '?'} × ${cpus.length}`,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    versions,
    commit,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isFinite(c) ? String(c) : '–') : c)));
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const r of cells) out.push(`| ${r.join(' | ')} |`);
  return out.join('\n');
}

const fmtRange = (xs: number[], digits = 3) => {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  if (xs.length <= 1) return f(median(xs));
  return `${f(median(xs))} (${f(min(xs))}–${f(max(xs))})`;
};

/** A server at or above this CPU % is saturated: its CPU per user-second is capped at 1000 ÷ users and it falls behind. */
const SATURATED_PCT = 90;

const kb = (b: number) => (Number.isFinite(b) ? (b / 1024).toFixed(1) : '–');

function sweepReport(records: RunRecord[], o: BenchOptions): string {
  const out: string[] = [];
  const servers = o.servers.filter((s) => records.some((r) => r.server === s));
  const rows: (string | number)[][] = [];
  for (const users of o.users) {
    for (const s of servers) {
      const rs = records.filter((r) => r.server === s && r.users === users && !r.error);
      const errs = records.filter((r) => r.server === s && r.users === users && r.error);
      if (!rs.length) {
        rows.push([users, SERVERS[s].label, `failed: ${errs[0]?.error ?? '?'}`, '', '', '', '', '', '', '', '', '', '']);
        continue;
      }
      const pick = (f: (r: RunRecord) => number) => rs.map(f);
      const saturated = median(pick((r) => r.serverCpuPercent)) >= SATURATED_PCT;
      rows.push([
        users,
        SERVERS[s].label,
        fmtRange(pick((r) => r.cpuMsPerUserSec)) + (saturated ? ' (sat.)' : ''),
        fmtRange(pick((r) => r.serverCpuPercent), 0),
        `${fmtRange(pick((r) => r.docP50), 1)} / ${fmtRange(pick((r) => r.docP99), 1)}`,
        `${fmtRange(pick((r) => r.presP50), 1)} / ${fmtRange(pick((r) => r.presP99), 1)}`,
        `${fmtRange(pick((r) => r.docP99Clean), 1)} / ${fmtRange(pick((r) => r.presP99Clean), 1)} (${median(pick((r) => r.cleanWindowsPct)).toFixed(0)}%)`,
        `${fmtRange(pick((r) => r.docMissingPct), 2)} / ${fmtRange(pick((r) => r.presMissingPct), 2)}`,
        `${(median(pick((r) => r.rssBytes)) / 1024 ** 2).toFixed(0)} MB`,
        kb(median(pick((r) => r.rssPerUserBytes))),
        fmtRange(pick((r) => r.generatorCpuPercent), 0) + (rs.some((r) => r.generatorSaturated) ? ' ⚠' : ''),
        `${median(pick((r) => r.serverWaitPct)).toFixed(0)} / ${median(pick((r) => r.generatorWaitPct)).toFixed(0)}`,
        `${rs.length}${errs.length ? ` (+${errs.length} failed)` : ''}`,
      ]);
    }
  }
  out.push(
    table(
      [
        'users',
        'server',
        'CPU ms per user-second',
        'server CPU %',
        'doc p50 / p99 ms',
        'presence p50 / p99 ms',
        'p99 doc / presence without generator stalls, ms (% of seconds kept)',
        'missing doc / presence %',
        'RSS',
        'RSS per user KB',
        'generator CPU %',
        'run-queue wait % server / gen',
        'runs',
      ],
      rows,
    ),
  );
  out.push('');
  out.push(
    `Medians of the runs, (min–max) over runs. (sat.): the server used ≥ ${SATURATED_PCT} % of its core, so its CPU per user-second is capped at 1000 ÷ users and not comparable. Run-queue wait: share of the measured window the main thread was ready to run ` +
      'but its core was busy with other processes (/proc/<pid>/schedstat); high values mean latencies are inflated by contention, ' +
      'while CPU time per user-second is largely unaffected.' +
      (records.some((r) => r.generatorSaturated) ? ' ⚠: the generator reported saturation in at least one run (latency includes its delay).' : ''),
  );
  // capacity
  const cap: (string | number)[][] = [];
  for (const s of servers) {
    const unsaturated = o.users.filter((u) => {
      const rs = records.filter((r) => r.server === s && r.users === u && !r.error);
      return rs.length > 0 && median(rs.map((r) => r.serverCpuPercent)) < SATURATED_PCT;
    });
    const top = unsaturated.length ? Math.max(...unsaturated) : NaN;
    const topRuns = records.filter((r) => r.server === s && r.users === top && !r.error);
    const cpu = median(topRuns.map((r) => r.cpuMsPerUserSec));
    const passing = o.users.filter((u) => {
      const rs = records.filter((r) => r.server === s && r.users === u && !r.error);
      return (
        rs.length > 0 &&
        median(rs.map((r) => Math.max(r.docP99Clean, r.presP99Clean))) < o.p99TargetMs &&
        median(rs.map((r) => r.docMissingPct)) < 1 &&
        median(rs.map((r) => r.serverCpuPercent)) < 100
      );
    });
    const best = passing.length ? Math.max(...passing) : 0;
    const loaded = records.filter((r) => r.server === s && !r.error);
    cap.push([
      SERVERS[s].label,
      Number.isFinite(cpu) ? `${Math.floor(1000 / cpu).toLocaleString('en-US')} (from ${top} users)` : 'saturated at every load tested',
      best ? `${best === Math.max(...o.users) ? '≥ ' : ''}${best.toLocaleString('en-US')}` : `< ${Math.min(...o.users)}`,
      kb(median(loaded.map((r) => r.rssPerUserBytes))),
    ]);
  }
  out.push('');
  out.push(
    table(
      [
        'server',
        'CPU-bound ceiling (users per core = 1000 ÷ CPU ms per user-s at the highest unsaturated load)',
        `users per core with p99 < ${o.p99TargetMs} ms (highest tested load that met it; p99 without generator stalls, median of runs)`,
        'RSS per connected user under load, KB',
      ],
      cap,
    ),
  );
  // ratios
  if (servers.includes('symphony')) {
    const targets: Record<string, number> = { 'y-websocket': 0.5, hocuspocus: 1 / 3, relay: 1 };
    const ratioRows: (string | number)[][] = [];
    for (const users of o.users) {
      for (const peer of servers.filter((s) => s !== 'symphony')) {
        const ratios: number[] = [];
        for (let rep = 0; rep < o.repeat; rep++) {
          const a = records.find((r) => r.server === 'symphony' && r.users === users && r.repeat === rep && !r.error);
          const b = records.find((r) => r.server === peer && r.users === users && r.repeat === rep && !r.error);
          if (a && b) ratios.push(a.cpuMsPerUserSec / b.cpuMsPerUserSec);
        }
        const m = median(ratios);
        const target = targets[peer];
        const sat = (name: string) => median(records.filter((r) => r.server === name && r.users === users && !r.error).map((r) => r.serverCpuPercent)) >= SATURATED_PCT;
        const satNote = [sat('symphony') ? 'Symphony' : '', sat(peer) ? 'peer' : ''].filter(Boolean).join(' and ');
        ratioRows.push([
          users,
          SERVERS[peer].label,
          fmtRange(ratios, 2) + (satNote ? ` (${satNote} saturated: not comparable)` : ''),
          target !== undefined ? `≤ ${target.toFixed(2)}` : '',
          Number.isFinite(m) && target !== undefined ? (m <= target ? 'met' : `missed by ${((m / target - 1) * 100).toFixed(0)}%`) : '–',
        ]);
      }
    }
    out.push('');
    out.push('Symphony ÷ peer, server CPU per user-second (ratio per repeat, same run, same user count; median (min–max)):');
    out.push('');
    out.push(table(['users', 'peer', 'ratio', 'target', 'verdict'], ratioRows));
  }
  return out.join('\n');
}

async function sweep(o: BenchOptions): Promise<{ records: RunRecord[]; md: string }> {
  const records: RunRecord[] = [];
  const servers = o.servers.filter((s) => {
    if (SERVERS[s].available()) return true;
    console.error(`skipping ${s}: not available (${SERVERS[s].args.join(' ')})`);
    return false;
  });
  const total = o.repeat * o.users.length * servers.length;
  let n = 0;
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const users of o.users) {
      // rotate the order each repeat so slow drift on a shared machine does not favour one server
      const order = servers.map((_, i) => servers[(i + rep) % servers.length]);
      for (const s of order) {
        n++;
        const def = SERVERS[s];
        const spec: LoadSpec = {
          users,
          roomSize: o.roomSize,
          docRate: o.docRate,
          presenceRate: o.presenceRate,
          durationMs: o.durationMs,
          rampMs: o.rampMs,
        };
        const t = Date.now();
        process.stderr.write(`[${n}/${total}] ${def.label}, ${users} users, repeat ${rep + 1} … `);
        try {
          let rec = summarise(def, await runAgainst(def, spec, o, `${s}-${users}-r${rep + 1}`), spec, rep);
          for (let retry = 1; retry <= o.retries && Math.max(rec.serverWaitPct, rec.generatorWaitPct) > o.contentionRetryPct; retry++) {
            process.stderr.write(`(contended: waited ${rec.serverWaitPct}/${rec.generatorWaitPct}% for the cores; again) `);
            const again = summarise(def, await runAgainst(def, spec, o, `${s}-${users}-r${rep + 1}-retry${retry}`), spec, rep);
            // keep the less contended of the two
            if (Math.max(again.serverWaitPct, again.generatorWaitPct) < Math.max(rec.serverWaitPct, rec.generatorWaitPct)) rec = again;
          }
          records.push(rec);
          process.stderr.write(
            `${rec.cpuMsPerUserSec} ms/user-s, CPU ${rec.serverCpuPercent}%, doc p99 ${rec.docP99} ms, presence p99 ${rec.presP99} ms, ` +
              `gen ${rec.generatorCpuPercent}%${rec.generatorSaturated ? ' (saturated)' : ''}, wait ${rec.serverWaitPct}/${rec.generatorWaitPct}% [${Math.round((Date.now() - t) / 1000)} s]\n`,
          );
        } catch (err) {
          records.push(failedRecord(s, users, rep, (err as Error).message));
          process.stderr.write(`FAILED: ${(err as Error).message}\n`);
        }
      }
    }
  }
  let md = sweepReport(records, o);
  if (o.profile) {
    md += '\n\n### Where the servers spend their CPU (V8 profiles, highest load, first repeat)\n';
    const top = Math.max(...o.users);
    for (const s of servers) {
      const rec = records.find((r) => r.server === s && r.users === top && r.profileDir && !r.error);
      if (rec?.profileDir) md += `\n#### ${SERVERS[s].label}, ${top} users\n\n${summariseProfile(rec.profileDir)}\n`;
    }
  }
  return { records, md };
}

async function soak(o: BenchOptions): Promise<{ records: RunRecord[]; md: string }> {
  const records: RunRecord[] = [];
  const out: string[] = [];
  for (const s of o.servers) {
    const def = SERVERS[s];
    if (!def.available()) continue;
    const spec: LoadSpec = {
      users: o.soakUsers,
      roomSize: o.roomSize,
      docRate: o.docRate,
      presenceRate: o.presenceRate,
      durationMs: o.soakMs,
      rampMs: Math.min(o.rampMs, 30_000),
      // growth-heavy edits: new shapes and typed text keep every document growing
      extraArgs: ['--doc-mix', 'add:40,move:20,text:40'],
    };
    process.stderr.write(`soak: ${def.label}, ${spec.users} users for ${spec.durationMs / 1000} s … `);
    try {
      const raw = await runAgainst(def, spec, o, `soak-${s}-${spec.users}`);
      const rec = summarise(def, raw, spec, 0);
      const r = raw.result;
      const minutes: (string | number)[][] = [];
      const perMin: number[] = [];
      const stepMs = 60_000;
      for (let from = r.timeline.steadyStartMs; from + stepMs / 2 <= r.timeline.steadyEndMs; from += stepMs) {
        const to = Math.min(from + stepMs, r.timeline.steadyEndMs);
        const w = raw.sampler.window(from, to);
        const wins = r.timeseries.filter((x) => x.phase === 'steady' && r.timeline.startMs + x.t * 1000 > from && r.timeline.startMs + x.t * 1000 <= to);
        const users = wins.length ? Math.min(...wins.map((x) => x.synced)) : rec.syncedUsers;
        const cpu = w ? w.cpuMs / (users * (w.wallMs / 1000)) : NaN;
        perMin.push(cpu);
        const docP99 = median(wins.filter((x) => x.doc.count).map((x) => x.doc.p99));
        const presP99 = median(wins.filter((x) => x.presence.count).map((x) => x.presence.p99));
        minutes.push([
          minutes.length + 1,
          r3(cpu),
          w ? r2((w.cpuMs / w.wallMs) * 100) : '–',
          r2(docP99),
          r2(presP99),
          w ? `${(w.rssMedian / 1024 ** 2).toFixed(0)} MB` : '–',
          w ? r2((w.waitMs / w.wallMs) * 100) : '–',
        ]);
      }
      // least-squares slope of CPU per user-second over minutes, relative to the mean
      const xs = perMin.map((_, i) => i);
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = perMin.reduce((a, b) => a + b, 0) / perMin.length;
      const slope = xs.reduce((a, x, i) => a + (x - mx) * (perMin[i] - my), 0) / Math.max(1e-9, xs.reduce((a, x) => a + (x - mx) ** 2, 0));
      // minute 1 still has JIT and GC settling after the ramp: compare with minute 2 when there are 3+
      const refMinute = perMin.length > 2 ? 2 : 1;
      const firstFull = perMin[refMinute - 1];
      const lastRatio = perMin[perMin.length - 1] / firstFull;
      rec.extra = { perMinute: perMin, slopePctPerMinute: r2((slope / my) * 100), lastOverReferenceMinute: r2(lastRatio), referenceMinute: refMinute, docBytesPerRoom: r.messages.docBytesPerRoom };
      records.push(rec);
      process.stderr.write(`done: slope ${r2((slope / my) * 100)}%/min, last minute / minute ${refMinute} = ${r2(lastRatio)}\n`);
      out.push(`### Soak: ${def.label}, ${spec.users} users, ${(spec.durationMs / 60000).toFixed(1)} min, doc mix add:40,move:20,text:40`);
      out.push('');
      out.push(table(['minute', 'CPU ms per user-second', 'server CPU %', 'doc p99 ms (median of 1 s windows)', 'presence p99 ms', 'RSS', 'server run-queue wait %'], minutes));
      out.push('');
      out.push(
        `Trend of CPU per user-second: ${r2((slope / my) * 100)} % of the mean per minute (least squares); last minute ÷ minute ${refMinute} = ${r2(lastRatio)}. ` +
          `Each room received ${(r.messages.docBytesPerRoom / 1024).toFixed(0)} KB of updates (${Math.round(r.messages.doc.sent / r.rooms)} updates) over the run.`,
      );
      out.push('');
    } catch (err) {
      records.push(failedRecord(s, spec.users, 0, (err as Error).message));
      process.stderr.write(`FAILED: ${(err as Error).message}\n`);
      out.push(`### Soak: ${def.label}: failed: ${(err as Error).message}`);
    }
  }
  return { records, md: out.join('\n') };
}

async function memory(o: BenchOptions): Promise<{ records: RunRecord[]; md: string }> {
  const records: RunRecord[] = [];
  const rows: (string | number)[][] = [];
  const live = (m: MemProbe) => m.heapUsed + m.external;
  const mb = (b: number) => (Number.isFinite(b) ? `${(b / 1024 ** 2).toFixed(0)} MB` : '–');
  for (const s of o.servers) {
    const def = SERVERS[s];
    if (!def.available()) continue;
    const idle: LoadSpec = { users: o.memoryConnections, roomSize: o.roomSize, docRate: 0, presenceRate: 0, durationMs: 20_000, rampMs: o.explicitRamp ? o.rampMs : 40_000 };
    const loaded: LoadSpec = {
      users: o.memoryRooms,
      roomSize: 1,
      docRate: 0,
      presenceRate: 0,
      durationMs: 20_000,
      rampMs: o.explicitRamp ? o.rampMs : 40_000,
      extraArgs: ['--preload', String(o.memoryPreload)],
    };
    const res = { connRss: NaN, connLive: NaN, roomRss: NaN, roomLive: NaN, idleRss: NaN, loadedRss: NaN, base: NaN, docBytes: NaN };
    let note = '';
    try {
      process.stderr.write(`memory: ${def.label}, ${idle.users} idle connections … `);
      const raw = await runAgainst(def, idle, o, `mem-idle-${s}`, true);
      const rec = summarise(def, raw, idle, 0);
      const n = Math.max(1, rec.syncedUsers);
      if (raw.memBefore && raw.memDuring) {
        res.base = raw.memBefore.rss;
        res.idleRss = raw.memDuring.rss;
        res.connRss = (raw.memDuring.rss - raw.memBefore.rss) / n;
        res.connLive = (live(raw.memDuring) - live(raw.memBefore)) / n;
      } else note += 'idle: memory probe missed the steady phase; ';
      rec.extra = { kind: 'idle-connections', memBefore: raw.memBefore, memDuring: raw.memDuring };
      records.push(rec);
      if (raw.result.connections.synced < idle.users) note += `${idle.users - raw.result.connections.synced} idle connections failed; `;
      process.stderr.write(`${kb(res.connRss)} KB RSS, ${kb(res.connLive)} KB heap+external per connection\n`);
    } catch (err) {
      note += `idle run failed: ${(err as Error).message}; `;
      process.stderr.write(`FAILED: ${(err as Error).message}\n`);
    }
    try {
      process.stderr.write(`memory: ${def.label}, ${loaded.users} loaded rooms … `);
      const raw = await runAgainst(def, loaded, o, `mem-rooms-${s}`, true);
      const rec = summarise(def, raw, loaded, 0);
      const n = Math.max(1, rec.syncedUsers);
      res.docBytes = raw.result.messages.docBytesPerRoom;
      if (raw.memBefore && raw.memDuring) {
        res.loadedRss = raw.memDuring.rss;
        // a loaded room here has one connection: take the connection's cost off
        res.roomRss = (raw.memDuring.rss - raw.memBefore.rss) / n - (Number.isFinite(res.connRss) ? res.connRss : 0);
        res.roomLive = (live(raw.memDuring) - live(raw.memBefore)) / n - (Number.isFinite(res.connLive) ? res.connLive : 0);
      } else note += 'rooms: memory probe missed the steady phase; ';
      rec.extra = { kind: 'loaded-rooms', preloadOps: o.memoryPreload, memBefore: raw.memBefore, memDuring: raw.memDuring };
      records.push(rec);
      if (raw.result.connections.synced < loaded.users) note += `${loaded.users - raw.result.connections.synced} room connections failed; `;
      process.stderr.write(`${kb(res.roomRss)} KB RSS, ${kb(res.roomLive)} KB heap+external per room\n`);
    } catch (err) {
      note += `loaded-rooms run failed: ${(err as Error).message}; `;
      process.stderr.write(`FAILED: ${(err as Error).message}\n`);
    }
    rows.push([def.label, mb(res.base), mb(res.idleRss), kb(res.connRss), kb(res.connLive), mb(res.loadedRss), kb(res.roomRss), kb(res.roomLive), note]);
  }
  const md = [
    `Idle: ${o.memoryConnections.toLocaleString('en-US')} connections in rooms of ${o.roomSize}, synced, sending nothing. ` +
      `Loaded rooms: ${o.memoryRooms.toLocaleString('en-US')} rooms with one connection each; each room's document is uploaded on join ` +
      `(${o.memoryPreload} whiteboard edits in one update, ${(buildPreload(o.memoryPreload, 1).length / 1024).toFixed(1)} KB encoded). ` +
      'Memory is read after a forced full GC (the server runs with --expose-gc and bench/servers/gc-hook.ts, signalled with SIGUSR2): ' +
      'once before any connection, once in the middle of the steady phase. Per connection = Δ ÷ connections; ' +
      'per loaded room = Δ ÷ rooms − per-connection cost. "heap+ext" is V8 heap used + external (ArrayBuffers) from process.memoryUsage().',
    '',
    table(
      ['server', 'RSS before', 'RSS, idle conns', 'per connection (RSS) KB', 'per connection (heap+ext) KB', 'RSS, loaded rooms', 'per room (RSS) KB', 'per room (heap+ext) KB', 'notes'],
      rows,
    ),
  ].join('\n');
  return { records, md };
}

async function main(): Promise<void> {
  const from = process.argv.indexOf('--report-from');
  if (from >= 0) {
    // rebuild the tables of an earlier sweep from its JSON
    const saved = JSON.parse(readFileSync(process.argv[from + 1], 'utf8')) as { options: BenchOptions; records: RunRecord[] };
    console.log(sweepReport(saved.records, saved.options));
    return;
  }
  const o = parseBenchArgs(process.argv.slice(2));
  mkdirSync(join(o.outDir, 'logs'), { recursive: true });
  if (o.generatorCore !== null) pinSelf(o.generatorCore);
  const started = new Date();
  const machine = machineInfo();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  console.error(`bench: ${o.mode}, servers ${o.servers.join(', ')}; server on core ${o.serverCore ?? '(any)'}, generator on core ${o.generatorCore ?? '(any)'}`);
  const { records, md } = o.mode === 'sweep' ? await sweep(o) : o.mode === 'soak' ? await soak(o) : await memory(o);
  const finished = new Date();
  const header = [
    `## ${o.mode} — ${started.toISOString()}`,
    '',
    `- command: \`${command}\``,
    `- machine: ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}, commit ${machine.commit}`,
    `- peers: ${Object.entries(machine.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- load: rooms of ${o.roomSize}, ${o.docRate} doc + ${o.presenceRate} presence updates per user per second` +
      (o.mode === 'sweep' ? `; ramp ${o.rampMs / 1000} s, steady ${o.durationMs / 1000} s (first ${Math.min(5, o.durationMs / 4000)} s of it not measured), ${o.repeat} repeat(s)` : ''),
    `- pinning: server on core ${o.serverCore ?? '-'}, generator on core ${o.generatorCore ?? '-'}${o.nice ? `, both at nice ${o.nice}` : ''}; load average at start ${machine.loadAverage.join(' ')}, at end ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
    `- took ${Math.round((finished.getTime() - started.getTime()) / 60000)} min`,
    '',
  ].join('\n');
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const base = join(o.outDir, `bench-${o.mode}-${stamp}`);
  writeFileSync(`${base}.json`, JSON.stringify({ options: o, machine, command, started, finished, records }, null, 2));
  writeFileSync(`${base}.md`, `${header}\n${md}\n`);
  console.log(`${header}\n${md}\n`);
  console.error(`written: ${base}.md, ${base}.json`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
