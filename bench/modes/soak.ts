/**
 * The soak: one long run per server with growth-heavy edits, to see whether the CPU a user costs
 * rises as the rooms' documents grow. Reported per minute, with the trend of that cost.
 */
import type { LoadTestResult } from '../../loadtest/run.js';
import { markdownTable, median, round2, round3 } from '../lib/figures.js';
import type { BenchOptions } from '../lib/options.js';
import { failedRecord, recordOf, type RunRecord } from '../lib/record.js';
import { runAgainst, type LoadSpec, type RawRun } from '../lib/run-once.js';
import { SERVERS } from '../lib/servers.js';
import { availableServers, type ModeResult } from './sweep.js';

/** New shapes and typed text keep every document growing; moves alone would not. */
const GROWTH_DOC_MIX = 'add:40,move:20,text:40';
const MINUTE_MS = 60_000;
/** The soak's ramp is capped: it is the steady phase that is measured. */
const MAX_SOAK_RAMP_MS = 30_000;

interface Minute {
  cpuMsPerUserSec: number;
  row: (string | number)[];
}

/** The steady phase minute by minute: CPU per user-second, latency, memory and contention. */
function minutes(run: RawRun, fallbackUsers: number): Minute[] {
  const result: LoadTestResult = run.result;
  const { startMs, steadyStartMs, steadyEndMs } = result.timeline;
  const rows: Minute[] = [];
  // A last partial minute counts if it covers at least half a minute.
  for (let fromMs = steadyStartMs; fromMs + MINUTE_MS / 2 <= steadyEndMs; fromMs += MINUTE_MS) {
    const toMs = Math.min(fromMs + MINUTE_MS, steadyEndMs);
    const sampled = run.sampler.window(fromMs, toMs);
    const windows = result.timeseries.filter((window) => window.phase === 'steady' && startMs + window.t * 1000 > fromMs && startMs + window.t * 1000 <= toMs);
    const users = windows.length ? Math.min(...windows.map((window) => window.synced)) : fallbackUsers;
    const cpuMsPerUserSec = sampled ? sampled.cpuMs / (users * (sampled.wallMs / 1000)) : NaN;
    rows.push({
      cpuMsPerUserSec,
      row: [
        rows.length + 1,
        round3(cpuMsPerUserSec),
        sampled ? round2((sampled.cpuMs / sampled.wallMs) * 100) : '–',
        round2(median(windows.filter((window) => window.doc.count).map((window) => window.doc.p99))),
        round2(median(windows.filter((window) => window.presence.count).map((window) => window.presence.p99))),
        sampled ? `${(sampled.rssMedian / 1024 ** 2).toFixed(0)} MB` : '–',
        sampled ? round2((sampled.waitMs / sampled.wallMs) * 100) : '–',
      ],
    });
  }
  return rows;
}

/** Least-squares slope of the per-minute cost, as % of its mean per minute. */
function trendPercentPerMinute(perMinute: number[]): number {
  const meanMinute = (perMinute.length - 1) / 2;
  const meanCost = perMinute.reduce((sum, cost) => sum + cost, 0) / perMinute.length;
  let covariance = 0;
  let variance = 0;
  perMinute.forEach((cost, minute) => {
    covariance += (minute - meanMinute) * (cost - meanCost);
    variance += (minute - meanMinute) ** 2;
  });
  return round2((covariance / Math.max(1e-9, variance) / meanCost) * 100);
}

async function soakOne(name: string, options: BenchOptions, records: RunRecord[]): Promise<string[]> {
  const server = SERVERS[name];
  const spec: LoadSpec = {
    users: options.soakUsers,
    roomSize: options.roomSize,
    docRate: options.docRate,
    presenceRate: options.presenceRate,
    durationMs: options.soakMs,
    rampMs: Math.min(options.rampMs, MAX_SOAK_RAMP_MS),
    extraArgs: ['--doc-mix', GROWTH_DOC_MIX],
  };
  process.stderr.write(`soak: ${server.label}, ${spec.users} users for ${spec.durationMs / 1000} s … `);
  try {
    const run = await runAgainst(server, spec, options, `soak-${name}-${spec.users}`);
    const record = recordOf(server, run, spec, 0);
    const perMinute = minutes(run, record.syncedUsers);
    const costs = perMinute.map((minute) => minute.cpuMsPerUserSec);
    const trend = trendPercentPerMinute(costs);
    // Minute 1 still has JIT and GC settling after the ramp: compare with minute 2 when there are 3+.
    const referenceMinute = costs.length > 2 ? 2 : 1;
    const lastOverReference = round2(costs[costs.length - 1] / costs[referenceMinute - 1]);
    const result = run.result;
    record.extra = { perMinute: costs, slopePctPerMinute: trend, lastOverReferenceMinute: lastOverReference, referenceMinute, docBytesPerRoom: result.messages.docBytesPerRoom };
    records.push(record);
    process.stderr.write(`done: slope ${trend}%/min, last minute / minute ${referenceMinute} = ${lastOverReference}\n`);
    return [
      `### Soak: ${server.label}, ${spec.users} users, ${(spec.durationMs / 60000).toFixed(1)} min, doc mix ${GROWTH_DOC_MIX}`,
      '',
      markdownTable(
        ['minute', 'CPU ms per user-second', 'server CPU %', 'doc p99 ms (median of 1 s windows)', 'presence p99 ms', 'RSS', 'server run-queue wait %'],
        perMinute.map((minute) => minute.row),
      ),
      '',
      `Trend of CPU per user-second: ${trend} % of the mean per minute (least squares); last minute ÷ minute ${referenceMinute} = ${lastOverReference}. ` +
        `Each room received ${(result.messages.docBytesPerRoom / 1024).toFixed(0)} KB of updates (${Math.round(result.messages.doc.sent / result.rooms)} updates) over the run.`,
      '',
    ];
  } catch (error) {
    records.push(failedRecord(name, spec.users, 0, (error as Error).message));
    process.stderr.write(`FAILED: ${(error as Error).message}\n`);
    return [`### Soak: ${server.label}: failed: ${(error as Error).message}`];
  }
}

export async function soak(options: BenchOptions): Promise<ModeResult> {
  const records: RunRecord[] = [];
  const lines: string[] = [];
  for (const name of availableServers(options.servers)) lines.push(...(await soakOne(name, options, records)));
  return { records, markdown: lines.join('\n') };
}
