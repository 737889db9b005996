/** The result of a run: what the CLI prints, writes as JSON or charts, and what the benchmark reads. */
import type { LoadTestConfig } from './config.js';
import { VERSION } from './config.js';
import type { LatencySummary } from './histogram.js';
import { STALL_THRESHOLD_MS, type RunMeasurements, type Window } from './measurements.js';
import type { ServerSample, ServerStatsPoller } from './server-stats.js';

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
  /** The configuration without secrets: header names only, no tokens. */
  config: Omit<LoadTestConfig, 'authToken' | 'dashboardToken' | 'headers'> & { headers: string[] };
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
    /**
     * `missing` leaves out `superseded` states (a later state of the same sender arrived instead);
     * `latestMissing`: receiver–sender pairs whose sender's last state never arrived (must be 0).
     */
    presence: { sent: number; expected: number; received: number; missing: number; echoes: number; superseded: number; latestMissing: number };
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
   * and the network's latency. `windowsKept` says how many windows were kept.
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

/** A thread at or above this share of its core (or of its event loop) cannot keep to the schedule. */
const SATURATED_SHARE = 0.9;
/** Sends this late (p99) mean the generator, not the server, set the pace. */
const LATE_SENDS_P99_MS = 50;

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function maximum(values: (number | null)[]): number | null {
  return values.reduce<number | null>((max, value) => (value !== null && (max === null || value > max) ? value : max), null);
}

export interface RunFacts {
  config: LoadTestConfig;
  rooms: number;
  threadNames: string[];
  startEpochMs: number;
  aborted: boolean;
  measurements: RunMeasurements;
  poller: ServerStatsPoller | null;
}

export function buildResult(facts: RunFacts): LoadTestResult {
  const { config, measurements: run } = facts;
  const totals = run.totals;
  const steadySeconds = Math.max(0.001, run.steadyWallMs / 1000);
  const perSteadySecond = (value: (window: Window) => number) =>
    Math.round(run.windows.filter((window) => window.phase === 'steady').reduce((sum, window) => sum + value(window), 0) / steadySeconds);
  const generator = generatorReport(facts, steadySeconds);
  const { authToken: _authToken, dashboardToken: _dashboardToken, headers, ...publicConfig } = config;
  return {
    tool: 'symphony-loadtest',
    version: VERSION,
    startedAt: new Date(facts.startEpochMs).toISOString(),
    aborted: facts.aborted,
    config: { ...publicConfig, headers: Object.keys(headers) },
    rooms: facts.rooms,
    timeline: {
      startMs: facts.startEpochMs,
      steadyStartMs: facts.startEpochMs + config.rampMs,
      steadyEndMs: facts.startEpochMs + config.rampMs + config.durationMs,
      endMs: facts.startEpochMs + Math.round(run.elapsedMs),
    },
    connections: {
      target: config.users,
      opened: totals.opened,
      synced: totals.synced,
      failed: totals.failed,
      dropped: totals.dropped,
      handshakeMs: run.handshake.summaryMs(),
    },
    messages: {
      doc: {
        sent: totals.docSent,
        expected: totals.docExpected,
        received: totals.docReceived,
        missing: Math.max(0, totals.docExpected - totals.docReceived),
        echoes: totals.docEchoes,
        stale: totals.docStale,
      },
      presence: {
        sent: totals.presenceSent,
        expected: totals.presenceExpected,
        received: totals.presenceReceived,
        missing: Math.max(0, totals.presenceExpected - totals.presenceReceived - totals.presenceSuperseded),
        echoes: totals.presenceEchoes,
        superseded: totals.presenceSuperseded,
        latestMissing: run.latestPresenceMissing,
      },
      out: { messages: totals.messagesOut, bytes: totals.bytesOut },
      in: { messages: totals.messagesIn, bytes: totals.bytesIn },
      skippedBackpressure: totals.skippedBackpressure,
      docBytesPerRoom: Math.round(totals.docBytesSent / facts.rooms),
    },
    latencyMs: { doc: run.docLatency.summaryMs(), presence: run.presenceLatency.summaryMs() },
    latencyMsWithoutGeneratorStalls: {
      doc: run.docLatencyWithoutStalls.summaryMs(),
      presence: run.presenceLatencyWithoutStalls.summaryMs(),
      windowsKept: run.windowsWithoutStalls,
      windowsTotal: run.windowsAfterRamp,
      stallThresholdMs: STALL_THRESHOLD_MS,
    },
    throughput: {
      outMsgPerSec: perSteadySecond((window) => window.counters.messagesOut),
      inMsgPerSec: perSteadySecond((window) => window.counters.messagesIn),
      outBytesPerSec: perSteadySecond((window) => window.counters.bytesOut),
      inBytesPerSec: perSteadySecond((window) => window.counters.bytesIn),
      docRecvPerSec: perSteadySecond((window) => window.counters.docReceived),
      presRecvPerSec: perSteadySecond((window) => window.counters.presenceReceived),
    },
    generator,
    server: facts.poller ? serverReport(facts.poller, config) : null,
    errors: run.errors,
    timeseries: run.windows,
  };
}

function generatorReport(facts: RunFacts, steadySeconds: number): LoadTestResult['generator'] {
  const run = facts.measurements;
  const steadyMs = steadySeconds * 1000;
  const threads: ThreadReport[] = facts.threadNames.map((name, index) => {
    const thread = run.threads[index];
    return {
      name,
      cpuPercent: thread.cpuMs < 0 || !run.steadyWindows ? null : round((thread.cpuMs / steadyMs) * 100, 1),
      eventLoopUtilization: run.steadyWindows ? round(thread.eluSum / run.steadyWindows, 3) : 0,
      eventLoopDelayP99Ms: round(thread.delayP99MaxMs, 1),
    };
  });
  const cpuPercent = ((run.steadyCpuUserMs + run.steadyCpuSystemMs) / steadyMs) * 100;
  const sendLagMs = run.steadySendLag.summaryMs();
  const reasons = saturationReasons(threads, facts.config.workers, cpuPercent, sendLagMs.p99);
  return {
    cpuPercent: round(cpuPercent, 1),
    userPercent: round((run.steadyCpuUserMs / steadyMs) * 100, 1),
    systemPercent: round((run.steadyCpuSystemMs / steadyMs) * 100, 1),
    maxCpuPercent: round(run.maxCpuPercent, 1),
    threads,
    sendLagMs,
    saturated: reasons.length > 0,
    saturationReasons: reasons,
  };
}

function saturationReasons(threads: ThreadReport[], workers: number, cpuPercent: number, sendLagP99Ms: number): string[] {
  const reasons: string[] = [];
  for (const thread of threads) {
    // With workers, the main thread only collects snapshots: its load does not delay sends.
    if (thread.name === 'main' && workers > 1) continue;
    if (thread.eventLoopUtilization > SATURATED_SHARE) reasons.push(`${thread.name} event loop ${Math.round(thread.eventLoopUtilization * 100)}% busy`);
    else if (thread.cpuPercent !== null && thread.cpuPercent > SATURATED_SHARE * 100) reasons.push(`${thread.name} used ${Math.round(thread.cpuPercent)}% of a core`);
  }
  if (workers === 1 && cpuPercent > SATURATED_SHARE * 100) reasons.push(`generator CPU ${Math.round(cpuPercent)}% of one core`);
  if (sendLagP99Ms > LATE_SENDS_P99_MS) reasons.push(`sends ran late (p99 ${sendLagP99Ms} ms behind schedule)`);
  return reasons;
}

/** The server's figures over the steady phase, from the dashboard's stats. */
function serverReport(poller: ServerStatsPoller, config: LoadTestConfig): NonNullable<LoadTestResult['server']> {
  const samples = poller.samples;
  const steadyStartMs = config.rampMs;
  const steadyEndMs = config.rampMs + config.durationMs;
  const steady = samples.filter((sample) => sample.t >= steadyStartMs && sample.t <= steadyEndMs);
  const steadyValues = (read: (sample: ServerSample) => number | null) => steady.map(read).filter((value): value is number => value !== null);
  return {
    source: poller.url,
    cpuPercent: median(steadyValues((sample) => sample.cpuPercent)),
    maxCpuPercent: maximum(steadyValues((sample) => sample.cpuPercent)),
    rssBytes: median(steadyValues((sample) => sample.rssBytes)),
    maxRssBytes: maximum(samples.map((sample) => sample.rssBytes)),
    heapUsedBytes: median(steadyValues((sample) => sample.heapUsedBytes)),
    samples,
    error: poller.lastError,
  };
}
