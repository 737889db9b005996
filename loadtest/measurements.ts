/**
 * Adds up what the engines report once a second: a time series of one-second windows, the
 * latency and CPU figures of the steady phase, and the run's totals. The result (result.ts) is
 * computed from these.
 */
import { performance } from 'node:perf_hooks';
import { addCounters, newCounters, type EngineCounters } from './counters.js';
import type { EngineSnapshot } from './engine.js';
import { Histogram, type LatencySummary } from './histogram.js';
import type { ServerSample } from './server-stats.js';
import { threadCpuMs, threadCpuSince } from './thread-cpu.js';

export type Phase = 'ramp' | 'steady' | 'drain';

/** One second of the run, as the time series records it. */
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

/**
 * A window in which a generator thread's event loop stalled longer than this (starved of CPU or
 * saturated) measured the generator's delay as much as the server's: it is left out of the
 * "without generator stalls" latencies.
 */
export const STALL_THRESHOLD_MS = 25;
/** Distinct error messages kept for the result. */
const MAX_ERRORS = 50;

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** Per generator thread, over the steady phase. With workers, thread 0 is the main thread. */
class ThreadTotals {
  eluSum = 0;
  delayP99MaxMs = 0;
  /** -1 once a reading failed (no /proc). */
  cpuMs = 0;

  add(elu: number, cpuMs: number): void {
    this.eluSum += elu;
    this.cpuMs = cpuMs < 0 || this.cpuMs < 0 ? -1 : this.cpuMs + cpuMs;
  }
}

export class RunMeasurements {
  readonly totals = newCounters();
  readonly windows: Window[] = [];
  readonly errors: string[] = [];
  readonly handshake = new Histogram();
  /** Latencies after the ramp (steady phase and drain). */
  readonly docLatency = new Histogram();
  readonly presenceLatency = new Histogram();
  readonly docLatencyWithoutStalls = new Histogram();
  readonly presenceLatencyWithoutStalls = new Histogram();
  readonly steadySendLag = new Histogram();
  /** `EngineSnapshot.latestPresenceMissing` of the last window: at the end of the drain. */
  latestPresenceMissing = 0;
  windowsAfterRamp = 0;
  windowsWithoutStalls = 0;
  steadyWindows = 0;
  /** This process's CPU time over the steady phase, and the wall time it covers. */
  steadyCpuUserMs = 0;
  steadyCpuSystemMs = 0;
  steadyWallMs = 0;
  maxCpuPercent = 0;
  readonly threads: ThreadTotals[];
  private processCpuMark = process.cpuUsage();
  private mainElu = performance.eventLoopUtilization();
  private mainCpuMarkMs: number;
  private previousElapsedMs = 0;

  /** `workerThreads`: engines run in workers, so the main thread is measured as a thread of its own. */
  constructor(
    engines: number,
    private readonly workerThreads: boolean,
  ) {
    this.threads = Array.from({ length: engines + (workerThreads ? 1 : 0) }, () => new ThreadTotals());
    this.mainCpuMarkMs = workerThreads ? threadCpuMs() : -1;
  }

  /** Milliseconds since start at the end of the last window. */
  get elapsedMs(): number {
    return this.previousElapsedMs;
  }

  /** Adds the window that ends at `elapsedMs` (since start) from the engines' snapshots. */
  record(snapshots: EngineSnapshot[], elapsedMs: number, phase: Phase, server: ServerSample | undefined): Window {
    const windowMs = Math.max(1, elapsedMs - this.previousElapsedMs);
    this.previousElapsedMs = elapsedMs;
    const cpu = process.cpuUsage(this.processCpuMark);
    this.processCpuMark = process.cpuUsage();
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / windowMs) * 100;
    this.maxCpuPercent = Math.max(this.maxCpuPercent, cpuPercent);

    const counters = newCounters();
    const doc = new Histogram();
    const presence = new Histogram();
    const sendLag = new Histogram();
    let connected = 0;
    let synced = 0;
    let latestPresenceMissing = 0;
    let delayP99Ms = 0;
    const threadElu: number[] = [];
    const threadCpu: number[] = [];
    if (this.workerThreads) this.measureMainThread(threadElu, threadCpu);
    for (const snapshot of snapshots) {
      addCounters(counters, snapshot.counters);
      doc.merge(snapshot.docLatency);
      presence.merge(snapshot.presenceLatency);
      sendLag.merge(snapshot.sendLag);
      this.handshake.merge(snapshot.handshake);
      connected += snapshot.connectedNow;
      synced += snapshot.syncedNow;
      latestPresenceMissing += snapshot.latestPresenceMissing;
      delayP99Ms = Math.max(delayP99Ms, snapshot.thread.delayP99Ms);
      threadElu.push(snapshot.thread.elu);
      threadCpu.push(snapshot.thread.cpuMs);
      this.keepErrors(snapshot.errors);
    }
    addCounters(this.totals, counters);
    this.latestPresenceMissing = latestPresenceMissing;
    if (phase !== 'ramp') this.addLatencies(doc, presence, delayP99Ms);
    if (phase === 'steady') {
      this.steadyWindows++;
      this.steadySendLag.merge(sendLag);
      this.steadyCpuUserMs += cpu.user / 1000;
      this.steadyCpuSystemMs += cpu.system / 1000;
      this.steadyWallMs += windowMs;
      threadElu.forEach((elu, index) => this.threads[index].add(elu, threadCpu[index]));
      snapshots.forEach((snapshot, index) => {
        const thread = this.threads[this.workerThreads ? index + 1 : index];
        thread.delayP99MaxMs = Math.max(thread.delayP99MaxMs, snapshot.thread.delayP99Ms);
      });
    }
    const window: Window = {
      t: Math.round(elapsedMs) / 1000,
      phase,
      connected,
      synced,
      counters,
      doc: doc.summaryMs(),
      presence: presence.summaryMs(),
      generatorCpuPercent: round(cpuPercent, 1),
      threadElu: threadElu.map((elu) => round(elu, 3)),
      delayP99Ms: round(delayP99Ms, 1),
      sendLagP99Ms: sendLag.summaryMs().p99,
      server: server ? { cpuPercent: server.cpuPercent, rssBytes: server.rssBytes } : null,
    };
    this.windows.push(window);
    return window;
  }

  private measureMainThread(threadElu: number[], threadCpu: number[]): void {
    threadElu.push(performance.eventLoopUtilization(this.mainElu).utilization);
    this.mainElu = performance.eventLoopUtilization();
    const cpuNowMs = threadCpuMs();
    threadCpu.push(threadCpuSince(this.mainCpuMarkMs, cpuNowMs));
    this.mainCpuMarkMs = cpuNowMs;
  }

  private addLatencies(doc: Histogram, presence: Histogram, delayP99Ms: number): void {
    this.docLatency.merge(doc);
    this.presenceLatency.merge(presence);
    this.windowsAfterRamp++;
    if (delayP99Ms > STALL_THRESHOLD_MS) return;
    this.windowsWithoutStalls++;
    this.docLatencyWithoutStalls.merge(doc);
    this.presenceLatencyWithoutStalls.merge(presence);
  }

  private keepErrors(errors: string[]): void {
    for (const error of errors) if (this.errors.length < MAX_ERRORS && !this.errors.includes(error)) this.errors.push(error);
  }
}
