/** A run's figures as the benchmark's tables use them, from the generator's result and the /proc samples. */
import { median, round2, round3 } from './figures.js';
import type { LoadSpec, RawRun } from './run-once.js';
import type { ServerDef } from './servers.js';

export interface RunRecord {
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
  /** % of the expected presence states superseded by a later state of the same sender (coalescing) */
  presSupersededPct: number;
  /** receiver–sender pairs whose sender's last presence state never arrived */
  presLatestMissing: number;
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

/** The first seconds of the steady phase are not measured: JIT and GC still settle after the ramp. */
const WARM_UP_MS = 5000;

export function recordOf(server: ServerDef, run: RawRun, spec: LoadSpec, repeat: number): RunRecord {
  const { result } = run;
  const steady = result.timeseries.filter((window) => window.phase === 'steady');
  const synced = steady.length ? median(steady.map((window) => window.synced)) : result.connections.synced;
  const measuredFromMs = result.timeline.steadyStartMs + Math.min(WARM_UP_MS, spec.durationMs / 4);
  const serverWindow = run.sampler.window(measuredFromMs, result.timeline.steadyEndMs);
  const generatorWindow = run.generatorSampler.window(measuredFromMs, result.timeline.steadyEndMs);
  const cpuMs = serverWindow?.cpuMs ?? NaN;
  const wallMs = serverWindow?.wallMs ?? NaN;
  const { doc, presence } = result.messages;
  const withoutStalls = result.latencyMsWithoutGeneratorStalls;
  return {
    server: server.name,
    users: spec.users,
    repeat,
    error: null,
    syncedUsers: synced,
    serverCpuPercent: round2((cpuMs / wallMs) * 100),
    cpuMsPerUserSec: round3(cpuMs / (synced * (wallMs / 1000))),
    baselineRssBytes: run.baselineRss,
    rssBytes: serverWindow?.rssMedian ?? NaN,
    rssPerUserBytes: Math.round(((serverWindow?.rssMedian ?? NaN) - run.baselineRss) / Math.max(1, synced)),
    docP50: result.latencyMs.doc.p50,
    docP99: result.latencyMs.doc.p99,
    presP50: result.latencyMs.presence.p50,
    presP99: result.latencyMs.presence.p99,
    docP99Clean: withoutStalls?.doc.p99 ?? NaN,
    presP99Clean: withoutStalls?.presence.p99 ?? NaN,
    cleanWindowsPct: withoutStalls ? round2((withoutStalls.windowsKept / Math.max(1, withoutStalls.windowsTotal)) * 100) : NaN,
    docMissingPct: doc.expected ? round3((doc.missing / doc.expected) * 100) : 0,
    presMissingPct: presence.expected ? round3((presence.missing / presence.expected) * 100) : 0,
    presSupersededPct: presence.expected ? round3((presence.superseded / presence.expected) * 100) : 0,
    presLatestMissing: presence.latestMissing,
    echoes: doc.echoes + presence.echoes,
    generatorCpuPercent: result.generator.cpuPercent,
    serverWaitPct: serverWindow ? round2((serverWindow.waitMs / serverWindow.wallMs) * 100) : NaN,
    generatorWaitPct: generatorWindow ? round2((generatorWindow.waitMs / generatorWindow.wallMs) * 100) : NaN,
    generatorSaturated: result.generator.saturated,
    generatorNotes: result.generator.saturationReasons,
    outMsgPerSec: result.throughput.outMsgPerSec,
    inMsgPerSec: result.throughput.inMsgPerSec,
    failed: result.connections.failed,
    dropped: result.connections.dropped,
    profileDir: run.profileDir,
  };
}

/** A run that did not complete: every figure missing, the error kept for the table. */
export function failedRecord(server: string, users: number, repeat: number, error: string): RunRecord {
  const missing = NaN;
  return {
    server,
    users,
    repeat,
    error,
    syncedUsers: 0,
    serverCpuPercent: missing,
    cpuMsPerUserSec: missing,
    baselineRssBytes: missing,
    rssBytes: missing,
    rssPerUserBytes: missing,
    docP50: missing,
    docP99: missing,
    presP50: missing,
    presP99: missing,
    docP99Clean: missing,
    presP99Clean: missing,
    cleanWindowsPct: missing,
    docMissingPct: missing,
    presMissingPct: missing,
    presSupersededPct: missing,
    presLatestMissing: missing,
    echoes: 0,
    generatorCpuPercent: missing,
    serverWaitPct: missing,
    generatorWaitPct: missing,
    generatorSaturated: false,
    generatorNotes: [],
    outMsgPerSec: missing,
    inMsgPerSec: missing,
    failed: 0,
    dropped: 0,
  };
}
