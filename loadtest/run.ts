/**
 * Runs a load test: plans rooms and connection times, drives one engine per thread, samples
 * everything once a second, and returns a result that the CLI prints, writes as JSON or renders
 * as an HTML report (and that the benchmark harness reads).
 */
import { randomBytes } from 'node:crypto';
import { DEFAULTS, validateConfig, type LoadTestConfig } from './config.js';
import type { EngineCounters } from './counters.js';
import { RunMeasurements, type Phase, type Window } from './measurements.js';
import { buildPreload, engineConfigFor, planRooms } from './plan.js';
import { buildResult, type LoadTestResult } from './result.js';
import { ServerStatsPoller } from './server-stats.js';
import { engineInThisThread, engineInWorker, type EngineHandle } from './threads.js';

export { DEFAULTS, VERSION, validateConfig, type LoadTestConfig } from './config.js';
export { buildPreload, planRooms } from './plan.js';
export type { Phase, Window } from './measurements.js';
export type { LoadTestResult, ThreadReport } from './result.js';

export interface Progress {
  phase: Phase | 'closing';
  elapsedMs: number;
  totalMs: number;
  window: Window;
  totals: EngineCounters;
}

export interface RunHooks {
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

/** Engines start together this long after they are ready, so none starts behind the others. */
const START_DELAY_MS = 50;
/** Client ids below this are left to real clients that may share a room with the virtual users. */
const FIRST_CLIENT_ID = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The run's phases, in ms since start. */
interface Timeline {
  steadyStartMs: number;
  steadyEndMs: number;
  endMs: number;
}

function timelineOf(config: LoadTestConfig): Timeline {
  const steadyEndMs = config.rampMs + config.durationMs;
  return { steadyStartMs: config.rampMs, steadyEndMs, endMs: steadyEndMs + config.drainMs };
}

/** The phase a window ending at `elapsedMs` belongs to (a millisecond of slack for the timer). */
function phaseAt(elapsedMs: number, timeline: Timeline): Phase {
  if (elapsedMs <= timeline.steadyStartMs + 1) return 'ramp';
  return elapsedMs <= timeline.steadyEndMs + 1 ? 'steady' : 'drain';
}

function startEngines(config: LoadTestConfig, timeline: Timeline): { engines: EngineHandle[]; rooms: number } {
  const plans = planRooms(config);
  const shared = {
    preload: config.preloadOps > 0 ? buildPreload(config.preloadOps, config.seed) : null,
    clientIdBase: FIRST_CLIENT_ID + Math.floor(Math.random() * 1_000_000_000),
    sendEndUs: timeline.steadyEndMs * 1000,
  };
  const engines: EngineHandle[] = [];
  for (let thread = 0; thread < config.workers; thread++) {
    const engineConfig = engineConfigFor(config, thread, plans, shared);
    engines.push(config.workers === 1 ? engineInThisThread(engineConfig) : engineInWorker(engineConfig, thread + 1));
  }
  return { engines, rooms: plans.length };
}

async function whenReady(engines: EngineHandle[]): Promise<void> {
  try {
    await Promise.all(engines.map((engine) => engine.ready));
  } catch (error) {
    await Promise.all(engines.map((engine) => engine.close().catch(() => undefined)));
    throw error;
  }
}

export async function runLoadTest(input: Partial<LoadTestConfig> & { url: string }, hooks: RunHooks = {}): Promise<LoadTestResult> {
  const config: LoadTestConfig = { ...DEFAULTS, ...input };
  if (!config.roomPrefix) config.roomPrefix = `lt-${randomBytes(3).toString('hex')}-`;
  validateConfig(config);
  // A room lives in one thread: more threads than rooms would idle.
  config.workers = Math.min(config.workers, Math.ceil(config.users / config.roomSize));
  const timeline = timelineOf(config);
  const { engines, rooms } = startEngines(config, timeline);
  await whenReady(engines);

  const t0 = process.hrtime.bigint() + BigInt(START_DELAY_MS) * 1_000_000n;
  const startEpochMs = Date.now() + START_DELAY_MS;
  const elapsedMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
  await Promise.all(engines.map((engine) => engine.start(t0.toString())));
  const poller = config.dashboard ? new ServerStatsPoller(config.dashboard, config.dashboardToken, config.statsIntervalMs, elapsedMs) : null;
  poller?.start();

  let aborted = false;
  const onAbort = () => {
    aborted = true;
  };
  hooks.signal?.addEventListener('abort', onAbort);
  const measurements = new RunMeasurements(engines.length, config.workers > 1);
  try {
    await sampleEverySecond(engines, measurements, timeline, elapsedMs, () => aborted, poller, hooks);
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
  }
  poller?.stop();
  if (poller) await poller.poll();
  await Promise.all(engines.map((engine) => engine.close()));
  const threadNames = config.workers > 1 ? ['main', ...engines.map((engine) => engine.name)] : ['main'];
  return buildResult({ config, rooms, threadNames, startEpochMs, aborted, measurements, poller });
}

/**
 * Takes a snapshot of every engine at the end of each second until the drain ends (or the run is
 * aborted); sending stops at the end of the steady phase, receiving goes on through the drain.
 */
async function sampleEverySecond(
  engines: EngineHandle[],
  measurements: RunMeasurements,
  timeline: Timeline,
  elapsedMs: () => number,
  isAborted: () => boolean,
  poller: ServerStatsPoller | null,
  hooks: RunHooks,
): Promise<void> {
  let sendingStopped = false;
  for (let second = 1; ; second++) {
    const windowEndMs = second * 1000;
    const lastWindow = windowEndMs >= timeline.endMs || isAborted();
    await sleep(Math.min(windowEndMs, timeline.endMs) - elapsedMs());
    if (!sendingStopped && (elapsedMs() >= timeline.steadyEndMs || isAborted())) {
      sendingStopped = true;
      await Promise.all(engines.map((engine) => engine.stopSending()));
    }
    const snapshots = await Promise.all(engines.map((engine) => engine.snapshot()));
    const now = elapsedMs();
    const phase = phaseAt(now, timeline);
    const window = measurements.record(snapshots, now, phase, poller?.samples[poller.samples.length - 1]);
    hooks.onProgress?.({ phase: lastWindow ? 'closing' : phase, elapsedMs: now, totalMs: timeline.endMs, window, totals: measurements.totals });
    if (lastWindow) return;
  }
}
