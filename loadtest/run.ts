/**
 * Runs a load test: plans rooms and connection times, drives one engine per thread, samples
 * everything once a second, and returns a result that the CLI prints, writes as JSON or renders
 * as an HTML report (and that the benchmark harness reads).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import * as Y from 'yjs';
import { Engine, newCounters, type EngineConfig, type EngineCounters, type EngineSnapshot, type Protocol, type RoomPlan } from './engine.js';
import { Histogram, type LatencySummary } from './histogram.js';
import { ServerStatsPoller, type ServerSample } from './server-stats.js';
import { DEFAULT_DOC_MIX, OpGenerator, SHAPES_KEY, TEXT_KEY, type DocMix } from './yjs-writer.js';

export const VERSION = '0.1.0';

export interface LoadTestConfig {
  url: string;
  users: number;
  roomSize: number;
  docRate: number;
  presenceRate: number;
  durationMs: number;
  rampMs: number;
  drainMs: number;
  protocol: Protocol;
  roomPrefix: string;
  token: string;
  headers: Record<string, string>;
  query: string;
  workers: number;
  seed: number;
  docMix: DocMix;
  /** Number of edits in a document each room's first user uploads on joining (0: none). */
  preloadOps: number;
  connectTimeoutMs: number;
  dashboard?: string;
  dashboardToken?: string;
  statsIntervalMs: number;
}

export const DEFAULTS: LoadTestConfig = {
  url: '',
  users: 100,
  roomSize: 4,
  docRate: 1,
  presenceRate: 5,
  durationMs: 60_000,
  rampMs: 10_000,
  drainMs: 2_000,
  protocol: 'y-websocket',
  roomPrefix: '',
  token: '',
  headers: {},
  query: '',
  workers: 1,
  seed: 1,
  docMix: DEFAULT_DOC_MIX,
  preloadOps: 0,
  connectTimeoutMs: 15_000,
  statsIntervalMs: 2_000,
};

export type Phase = 'ramp' | 'steady' | 'drain';

export interface Window {
  /** seconds since start (end of this 1 s window) */
  t: number;
  phase: Phase;
  connected: number;
  synced: number;
  counters: EngineCounters;
  doc: LatencySummary;
  presence: LatencySummary;
  generatorCpuPercent: number;
  threadElu: number[];
  delayP99Ms: number;
  sendLagP99Ms: number;
  server: { cpuPercent: number | null; rssBytes: number | null } | null;
}

export interface ThreadReport {
  name: string;
  /** the thread's own CPU time over the steady phase, % of one core (null where /proc is missing) */
  cpuPercent: number | null;
  eventLoopUtilization: number;
  eventLoopDelayP99Ms: number;
}

export interface LoadTestResult {
  tool: string;
  version: string;
  startedAt: string;
  aborted: boolean;
  config: Omit<LoadTestConfig, 'token' | 'dashboardToken' | 'headers'> & { headers: string[] };
  rooms: number;
  /** Epoch ms of the phase boundaries (for aligning with samples taken outside the generator). */
  timeline: { startMs: number; steadyStartMs: number; steadyEndMs: number; endMs: number };
  connections: {
    target: number;
    opened: number;
    synced: number;
    failed: number;
    dropped: number;
    handshakeMs: LatencySummary;
  };
  messages: {
    doc: { sent: number; expected: number; received: number; missing: number; echoes: number; stale: number };
    presence: { sent: number; expected: number; received: number; missing: number; echoes: number };
    out: { messages: number; bytes: number };
    in: { messages: number; bytes: number };
    skippedBackpressure: number;
    docBytesPerRoom: number;
  };
  /** Fan-out latency over the steady phase (and drain), ms. */
  latencyMs: { doc: LatencySummary; presence: LatencySummary };
  /**
   * The same, leaving out the 1 s windows in which the generator's own event loop stalled (delay
   * p99 above stallThresholdMs: it was starved of CPU or saturated), so what remains is the server's
   * and the network's latency. `windows` says how many windows were kept.
   */
  latencyMsWithoutGeneratorStalls: { doc: LatencySummary; presence: LatencySummary; windowsKept: number; windowsTotal: number; stallThresholdMs: number };
  /** Steady-phase averages. */
  throughput: { outMsgPerSec: number; inMsgPerSec: number; outBytesPerSec: number; inBytesPerSec: number; docRecvPerSec: number; presRecvPerSec: number };
  generator: {
    cpuPercent: number;
    userPercent: number;
    systemPercent: number;
    maxCpuPercent: number;
    threads: ThreadReport[];
    sendLagMs: LatencySummary;
    saturated: boolean;
    saturationReasons: string[];
  };
  server: null | {
    source: string;
    cpuPercent: number | null;
    maxCpuPercent: number | null;
    rssBytes: number | null;
    maxRssBytes: number | null;
    heapUsedBytes: number | null;
    samples: ServerSample[];
    error: string | null;
  };
  errors: string[];
  timeseries: Window[];
}

export interface Progress {
  phase: Phase | 'closing';
  elapsedMs: number;
  totalMs: number;
  window: Window;
  totals: EngineCounters;
}

export interface RunHooks {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** One document's worth of edits, encoded once and uploaded to each room (memory runs). */
export function buildPreload(ops: number, seed: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1;
  const map = doc.getMap(SHAPES_KEY);
  const text = doc.getText(TEXT_KEY);
  const gen = new OpGenerator('preload', 'p_', seed);
  for (let i = 0; i < ops; i++) {
    const op = gen.next('');
    if (op.kind === 'text') text.insert(text.length, op.text);
    else map.set(op.key, op.value);
  }
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

export function planRooms(cfg: LoadTestConfig): RoomPlan[] {
  const roomCount = Math.ceil(cfg.users / cfg.roomSize);
  const rooms: RoomPlan[] = [];
  for (let r = 0; r < roomCount; r++) rooms.push({ name: `${cfg.roomPrefix}${r}`, users: [] });
  const rampUs = cfg.rampMs * 1000;
  for (let k = 0; k < cfg.users; k++) {
    // users join rooms round-robin, so rooms fill evenly during the ramp
    rooms[k % roomCount].users.push({ index: k, connectAtUs: cfg.users > 1 ? (rampUs * k) / cfg.users : 0 });
  }
  return rooms;
}

interface EngineHandle {
  name: string;
  ready: Promise<void>;
  start(t0: string): Promise<void>;
  snapshot(): Promise<EngineSnapshot>;
  stopSending(): Promise<void>;
  close(): Promise<void>;
}

function inProcessEngine(cfg: EngineConfig): EngineHandle {
  const engine = new Engine(cfg);
  return {
    name: 'main',
    ready: Promise.resolve(),
    start: async (t0) => engine.start(t0),
    snapshot: async () => engine.snapshot(),
    stopSending: async () => engine.stopSending(),
    close: () => engine.close(),
  };
}

function workerEngine(cfg: EngineConfig, n: number): EngineHandle {
  const self = import.meta.url;
  let worker: Worker;
  if (self.endsWith('.ts')) {
    // running from source (tsx): register tsx inside the worker before loading the .ts entry
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./worker.ts', self).href;
    const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    worker = new Worker(code, { eval: true, workerData: cfg });
  } else {
    worker = new Worker(new URL('./worker.js', self), { workerData: cfg });
  }
  let seq = 0;
  const pending = new Map<number, (v: unknown) => void>();
  let failure: Error | null = null;
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  worker.on('message', (m: { id: number; data: unknown }) => {
    if (m.id === 0) return onReady();
    const resolve = pending.get(m.id);
    pending.delete(m.id);
    resolve?.(m.data);
  });
  worker.on('error', (err) => {
    failure = err;
    onFail(err);
    for (const r of pending.values()) r(null);
    pending.clear();
  });
  const call = <T>(type: string, extra: Record<string, unknown> = {}): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, (v) => (v === null && failure ? reject(failure) : resolve(v as T)));
      worker.postMessage({ id, type, ...extra });
    });
  };
  return {
    name: `worker-${n}`,
    ready,
    start: (t0) => call<void>('start', { t0 }),
    snapshot: () => call<EngineSnapshot>('snapshot'),
    stopSending: () => call<void>('stop'),
    close: async () => {
      await call<void>('close').catch(() => undefined);
      await worker.terminate();
    },
  };
}

/** CPU time of the calling thread (utime + stime, ms) from /proc/thread-self, or -1 elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10;
  } catch {
    return -1;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

function addCounters(into: EngineCounters, from: EngineCounters): void {
  for (const k of Object.keys(from) as (keyof EngineCounters)[]) into[k] += from[k];
}


export function validateConfig(cfg: LoadTestConfig): void {
  const u = new URL(cfg.url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`--url must be ws:// or wss://, got ${cfg.url}`);
  if (!(cfg.users >= 1)) throw new Error('--users must be at least 1');
  if (!(cfg.roomSize >= 1)) throw new Error('--room-size must be at least 1');
  if (cfg.docRate < 0 || cfg.presenceRate < 0) throw new Error('rates must be >= 0');
  if (!(cfg.durationMs > 0)) throw new Error('--duration must be > 0');
  if (cfg.rampMs < 0 || cfg.drainMs < 0) throw new Error('--ramp and --drain must be >= 0');
  if (!(cfg.workers >= 1)) throw new Error('--workers must be at least 1');
}

export async function runLoadTest(input: Partial<LoadTestConfig> & { url: string }, hooks: RunHooks = {}): Promise<LoadTestResult> {
  const cfg: LoadTestConfig = { ...DEFAULTS, ...input };
  if (!cfg.roomPrefix) cfg.roomPrefix = `lt-${randomBytes(3).toString('hex')}-`;
  validateConfig(cfg);
  cfg.workers = Math.min(cfg.workers, Math.ceil(cfg.users / cfg.roomSize));

  const plans = planRooms(cfg);
  const preload = cfg.preloadOps > 0 ? buildPreload(cfg.preloadOps, cfg.seed) : null;
  let t0 = process.hrtime.bigint();
  let startEpochMs = Date.now();
  const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const steadyStart = cfg.rampMs;
  const steadyEnd = cfg.rampMs + cfg.durationMs;
  const end = steadyEnd + cfg.drainMs;
  const clientIdBase = 1000 + Math.floor(Math.random() * 1_000_000_000);

  const engines: EngineHandle[] = [];
  for (let w = 0; w < cfg.workers; w++) {
    const rooms = plans.filter((_, i) => i % cfg.workers === w);
    const ecfg: EngineConfig = {
      url: cfg.url,
      protocol: cfg.protocol,
      query: cfg.query,
      headers: cfg.headers,
      token: cfg.token,
      rooms,
      totalUsers: cfg.users,
      docRate: cfg.docRate,
      presenceRate: cfg.presenceRate,
      docMix: cfg.docMix,
      clientIdBase,
      seed: cfg.seed + w * 104729,
      sendEndUs: steadyEnd * 1000,
      connectTimeoutMs: cfg.connectTimeoutMs,
      preload,
      maxBufferedBytes: 4 * 1024 * 1024,
    };
    engines.push(cfg.workers === 1 ? inProcessEngine(ecfg) : workerEngine(ecfg, w + 1));
  }

  try {
    await Promise.all(engines.map((e) => e.ready));
  } catch (err) {
    await Promise.all(engines.map((e) => e.close().catch(() => undefined)));
    throw err;
  }
  const startDelayMs = 50;
  t0 = process.hrtime.bigint() + BigInt(startDelayMs) * 1_000_000n;
  startEpochMs = Date.now() + startDelayMs;
  await Promise.all(engines.map((e) => e.start(t0.toString())));

  const poller = cfg.dashboard ? new ServerStatsPoller(cfg.dashboard, cfg.dashboardToken, cfg.statsIntervalMs, elapsed) : null;
  poller?.start();

  const totals = newCounters();
  const windows: Window[] = [];
  const steadyDoc = new Histogram();
  const steadyPres = new Histogram();
  const handshake = new Histogram();
  const steadyLag = new Histogram();
  const cleanDoc = new Histogram();
  const cleanPres = new Histogram();
  const STALL_MS = 25;
  let cleanWindows = 0;
  let measuredWindows = 0;
  const errors: string[] = [];
  let cpuPrev = process.cpuUsage();
  let cpuUser = 0;
  let cpuSys = 0;
  let cpuSteadyMs = 0;
  let maxCpu = 0;
  let mainElu = performance.eventLoopUtilization();
  const threadEluSum = new Array<number>(engines.length + (cfg.workers > 1 ? 1 : 0)).fill(0);
  const threadDelayMax = new Array<number>(threadEluSum.length).fill(0);
  const threadCpuSum = new Array<number>(threadEluSum.length).fill(0);
  let mainCpuMark = cfg.workers > 1 ? mainThreadCpuMs() : -1;
  let steadyWindows = 0;
  let aborted = false;
  const onAbort = () => {
    aborted = true;
  };
  hooks.signal?.addEventListener('abort', onAbort);

  let tick = 1;
  let prevT = 0;
  let sendingStopped = false;
  for (;;) {
    const target = tick * 1000;
    const lastTick = target >= end || aborted;
    await sleep(Math.min(target, end) - elapsed());
    if (!sendingStopped && (elapsed() >= steadyEnd || aborted)) {
      sendingStopped = true;
      await Promise.all(engines.map((e) => e.stopSending()));
    }
    const snaps = await Promise.all(engines.map((e) => e.snapshot()));
    const now = elapsed();
    const dt = Math.max(1, now - prevT);
    prevT = now;
    const cpu = process.cpuUsage(cpuPrev);
    cpuPrev = process.cpuUsage();
    const cpuPct = ((cpu.user + cpu.system) / 1000 / dt) * 100;
    maxCpu = Math.max(maxCpu, cpuPct);
    const phase: Phase = now <= steadyStart + 1 ? 'ramp' : now <= steadyEnd + 1 ? 'steady' : 'drain';
    const counters = newCounters();
    const wDoc = new Histogram();
    const wPres = new Histogram();
    const wLag = new Histogram();
    let connected = 0;
    let synced = 0;
    let delayP99 = 0;
    const elus: number[] = [];
    const threadCpu: number[] = [];
    if (cfg.workers > 1) {
      const e = performance.eventLoopUtilization(mainElu);
      mainElu = performance.eventLoopUtilization();
      elus.push(e.utilization);
      const c = mainThreadCpuMs();
      threadCpu.push(c >= 0 && mainCpuMark >= 0 ? c - mainCpuMark : -1);
      mainCpuMark = c;
    }
    for (const s of snaps) {
      addCounters(counters, s.counters);
      wDoc.merge(s.docHist);
      wPres.merge(s.presHist);
      wLag.merge(s.lagHist);
      handshake.merge(s.handshakeHist);
      connected += s.connectedNow;
      synced += s.syncedNow;
      delayP99 = Math.max(delayP99, s.thread.delayP99Ms);
      elus.push(s.thread.elu);
      threadCpu.push(s.thread.cpuMs);
      for (const e of s.errors) if (errors.length < 50 && !errors.includes(e)) errors.push(e);
    }
    addCounters(totals, counters);
    if (phase !== 'ramp') {
      steadyDoc.merge(wDoc);
      steadyPres.merge(wPres);
      measuredWindows++;
      if (delayP99 <= STALL_MS) {
        cleanWindows++;
        cleanDoc.merge(wDoc);
        cleanPres.merge(wPres);
      }
    }
    if (phase === 'steady') {
      steadyWindows++;
      steadyLag.merge(wLag);
      cpuUser += cpu.user / 1000;
      cpuSys += cpu.system / 1000;
      cpuSteadyMs += dt;
      elus.forEach((v, i) => (threadEluSum[i] += v));
      threadCpu.forEach((v, i) => (threadCpuSum[i] = v < 0 || threadCpuSum[i] < 0 ? -1 : threadCpuSum[i] + v));
      snaps.forEach((s, i) => {
        const k = cfg.workers > 1 ? i + 1 : i;
        threadDelayMax[k] = Math.max(threadDelayMax[k], s.thread.delayP99Ms);
      });
    }
    const last = poller?.samples[poller.samples.length - 1];
    const win: Window = {
      t: Math.round(now) / 1000,
      phase,
      connected,
      synced,
      counters,
      doc: wDoc.summaryMs(),
      presence: wPres.summaryMs(),
      generatorCpuPercent: Math.round(cpuPct * 10) / 10,
      threadElu: elus.map((v) => Math.round(v * 1000) / 1000),
      delayP99Ms: Math.round(delayP99 * 10) / 10,
      sendLagP99Ms: wLag.summaryMs().p99,
      server: last ? { cpuPercent: last.cpuPercent, rssBytes: last.rssBytes } : null,
    };
    windows.push(win);
    hooks.onProgress?.({ phase: lastTick ? 'closing' : phase, elapsedMs: now, totalMs: end, window: win, totals });
    if (lastTick) break;
    tick++;
  }

  poller?.stop();
  if (poller) await poller.poll();
  await Promise.all(engines.map((e) => e.close()));
  // count anything that changed while closing (late drops are not drops: we closed them)
  hooks.signal?.removeEventListener('abort', onAbort);

  const steadySec = Math.max(0.001, cpuSteadyMs / 1000);
  const steadyWins = windows.filter((w) => w.phase === 'steady');
  const sumSteady = (f: (w: Window) => number) => steadyWins.reduce((a, w) => a + f(w), 0);
  const threadNames = cfg.workers > 1 ? ['main', ...engines.map((e) => e.name)] : ['main'];
  const threads: ThreadReport[] = threadNames.map((name, i) => ({
    name,
    cpuPercent: threadCpuSum[i] < 0 || !steadyWindows ? null : Math.round((threadCpuSum[i] / (steadySec * 1000)) * 1000) / 10,
    eventLoopUtilization: steadyWindows ? Math.round((threadEluSum[i] / steadyWindows) * 1000) / 1000 : 0,
    eventLoopDelayP99Ms: Math.round(threadDelayMax[i] * 10) / 10,
  }));
  const cpuPercent = ((cpuUser + cpuSys) / (steadySec * 1000)) * 100;
  const lag = steadyLag.summaryMs();
  const reasons: string[] = [];
  for (const t of threads) {
    if (t.name !== 'main' || cfg.workers === 1) {
      if (t.eventLoopUtilization > 0.9) reasons.push(`${t.name} event loop ${Math.round(t.eventLoopUtilization * 100)}% busy`);
      else if (t.cpuPercent !== null && t.cpuPercent > 90) reasons.push(`${t.name} used ${Math.round(t.cpuPercent)}% of a core`);
    }
  }
  if (cfg.workers === 1 && cpuPercent > 90) reasons.push(`generator CPU ${Math.round(cpuPercent)}% of one core`);
  if (lag.p99 > 50) reasons.push(`sends ran late (p99 ${lag.p99} ms behind schedule)`);

  const samples = poller?.samples ?? [];
  const steadySamples = samples.filter((s) => s.t >= steadyStart && s.t <= steadyEnd);
  const median = (xs: number[]) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const nums = (f: (s: ServerSample) => number | null) => steadySamples.map(f).filter((v): v is number => v !== null);

  const { token: _t, dashboardToken: _d, headers, ...publicCfg } = cfg;
  return {
    tool: 'symphony-loadtest',
    version: VERSION,
    startedAt: new Date(startEpochMs).toISOString(),
    aborted,
    config: { ...publicCfg, headers: Object.keys(headers) },
    rooms: plans.length,
    timeline: {
      startMs: startEpochMs,
      steadyStartMs: startEpochMs + steadyStart,
      steadyEndMs: startEpochMs + steadyEnd,
      endMs: startEpochMs + Math.round(prevT),
    },
    connections: {
      target: cfg.users,
      opened: totals.opened,
      synced: totals.synced,
      failed: totals.failed,
      dropped: totals.dropped,
      handshakeMs: handshake.summaryMs(),
    },
    messages: {
      doc: {
        sent: totals.docSent,
        expected: totals.docExpected,
        received: totals.docRecv,
        missing: Math.max(0, totals.docExpected - totals.docRecv),
        echoes: totals.docEcho,
        stale: totals.docStale,
      },
      presence: {
        sent: totals.presSent,
        expected: totals.presExpected,
        received: totals.presRecv,
        missing: Math.max(0, totals.presExpected - totals.presRecv),
        echoes: totals.presEcho,
      },
      out: { messages: totals.msgsOut, bytes: totals.bytesOut },
      in: { messages: totals.msgsIn, bytes: totals.bytesIn },
      skippedBackpressure: totals.skippedBackpressure,
      docBytesPerRoom: Math.round(totals.docBytesSent / plans.length),
    },
    latencyMs: { doc: steadyDoc.summaryMs(), presence: steadyPres.summaryMs() },
    latencyMsWithoutGeneratorStalls: {
      doc: cleanDoc.summaryMs(),
      presence: cleanPres.summaryMs(),
      windowsKept: cleanWindows,
      windowsTotal: measuredWindows,
      stallThresholdMs: STALL_MS,
    },
    throughput: {
      outMsgPerSec: Math.round(sumSteady((w) => w.counters.msgsOut) / steadySec),
      inMsgPerSec: Math.round(sumSteady((w) => w.counters.msgsIn) / steadySec),
      outBytesPerSec: Math.round(sumSteady((w) => w.counters.bytesOut) / steadySec),
      inBytesPerSec: Math.round(sumSteady((w) => w.counters.bytesIn) / steadySec),
      docRecvPerSec: Math.round(sumSteady((w) => w.counters.docRecv) / steadySec),
      presRecvPerSec: Math.round(sumSteady((w) => w.counters.presRecv) / steadySec),
    },
    generator: {
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      userPercent: Math.round((cpuUser / (steadySec * 1000)) * 1000) / 10,
      systemPercent: Math.round((cpuSys / (steadySec * 1000)) * 1000) / 10,
      maxCpuPercent: Math.round(maxCpu * 10) / 10,
      threads,
      sendLagMs: lag,
      saturated: reasons.length > 0,
      saturationReasons: reasons,
    },
    server: poller
      ? {
          source: poller.url,
          cpuPercent: median(nums((s) => s.cpuPercent)),
          maxCpuPercent: nums((s) => s.cpuPercent).reduce<number | null>((a, v) => (a === null || v > a ? v : a), null),
          rssBytes: median(nums((s) => s.rssBytes)),
          maxRssBytes: samples.map((s) => s.rssBytes).reduce<number | null>((a, v) => (v !== null && (a === null || v > a) ? v : a), null),
          heapUsedBytes: median(nums((s) => s.heapUsedBytes)),
          samples,
          error: poller.lastError,
        }
      : null,
    errors,
    timeseries: windows,
  };
}
