/**
 * Join storm: `--storm-joiners` clients join, within `--storm-spread`, one room whose document is a
 * long text (`--storm-chunks` inserts of 10 KB: 20 MB encoded by default). Measured: the time from
 * the first joiner's connect to the last joiner's complete sync reply, and the server's peak RSS
 * during the storm (sampled every 50 ms from /proc). The generator is bench/storm/joiners.ts.
 *
 * Cost model: a server that encodes the document for each joiner spends joiners × encode time on one
 * core and holds up to joiners × document bytes of replies at once; one that encodes once per version
 * spends one encode, and its replies cost one Buffer, written to every socket as the kernel takes it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, median, megabytes } from '../lib/figures.js';
import type { BenchOptions } from '../lib/options.js';
import { Sampler, freePort, readProc, type ProcSample, spawnPinned, stopProcess, waitForHttp, waitForQuiet } from '../lib/proc.js';
import { SERVERS, type ServerDef } from '../lib/servers.js';
import type { StormResult } from '../storm/joiners.js';
import { availableServers } from './sweep.js';

/** The servers that hold a document and speak the y-websocket protocol the joiners speak. */
const STORM_SERVERS = new Set(['symphony', 'y-websocket']);

/** Symphony as `npm start` runs it, with a content limit the storm's document fits in. */
const stormServer = (server: ServerDef): ServerDef => (server.name === 'symphony' ? { ...server, args: ['--import', 'tsx', 'bench/servers/symphony-large-documents.ts'] } : server);
const RSS_SAMPLE_INTERVAL_MS = 50;
/** Below this share of busy cores the machine counts as quiet enough to start a run. */
const QUIET_SHARE = 0.3;

export interface StormRecord {
  server: string;
  repeat: number;
  error: string | null;
  documentBytes: number;
  joiners: number;
  synced: number;
  /** first connect → last joiner synced, ms */
  allSyncedMs: number;
  medianSyncedMs: number;
  rssAtStormBytes: number;
  peakRssBytes: number;
  /** server and generator CPU during the storm, ms */
  stormCpuMs: number;
  generatorCpuMs: number;
  /** % of the storm the server's / generator's main thread waited for its core (other processes) */
  serverWaitPct: number;
  generatorWaitPct: number;
}

/** CPU ms and run-queue wait % over the samples taken from `startedAt` on. */
function usageSince(sampler: Sampler, startedAt: number): { cpuMs: number; waitPct: number; during: ProcSample[] } {
  const during = sampler.samples.filter((sample) => sample.epochMs >= startedAt);
  if (during.length < 2) return { cpuMs: NaN, waitPct: NaN, during };
  const first = during[0];
  const last = during[during.length - 1];
  return { cpuMs: last.cpuMs - first.cpuMs, waitPct: (100 * (last.waitMs - first.waitMs)) / Math.max(1, last.epochMs - first.epochMs), during };
}

/** The epoch ms the generator logged when its joiners started (after seeding). */
function stormStartedAt(logFile: string): number {
  const line = readFileSync(logFile, 'utf8')
    .split('\n')
    .find((candidate) => candidate.includes('"event":"storm"'));
  return line ? (JSON.parse(line) as { at: number }).at : NaN;
}

async function stormOnce(server: ServerDef, options: BenchOptions, tag: string, repeat: number): Promise<StormRecord> {
  if (options.quietWaitMs > 0) await waitForQuiet(QUIET_SHARE, options.quietWaitMs, (message) => process.stderr.write(message));
  const port = await freePort();
  const { env, cleanup } = server.env(port);
  const logBase = join(options.outDir, 'logs', tag);
  const serverProcess = spawnPinned(options.serverCore, server.args, env, `${logBase}.server.log`, options.nice);
  try {
    await waitForHttp(server.health(port), 60_000, serverProcess);
    const sampler = new Sampler(serverProcess.pid!, RSS_SAMPLE_INTERVAL_MS);
    sampler.start();
    const args = ['--import', 'tsx', 'bench/storm/joiners.ts', '--url', server.url(port), '--json', `${logBase}.storm.json`];
    args.push('--joiners', String(options.stormJoiners), '--spread', String(options.stormSpreadMs), '--chunks', String(options.stormChunks));
    const generator = spawnPinned(options.generatorCore, args, process.env, `${logBase}.generator.log`, options.nice);
    const generatorSampler = new Sampler(generator.pid!, RSS_SAMPLE_INTERVAL_MS);
    generatorSampler.start();
    const code = await new Promise<number>((resolve) => generator.once('exit', (exitCode) => resolve(exitCode ?? 1)));
    sampler.stop();
    generatorSampler.stop();
    if (code !== 0) throw new Error(`storm generator exited with ${code}; see ${logBase}.generator.log`);
    const result = JSON.parse(readFileSync(`${logBase}.storm.json`, 'utf8')) as StormResult;
    const startedAt = stormStartedAt(`${logBase}.generator.log`);
    const { cpuMs, waitPct, during } = usageSince(sampler, startedAt);
    const generatorUsage = usageSince(generatorSampler, startedAt);
    const atStorm = during[0] ?? readProc(serverProcess.pid!);
    return {
      server: server.name,
      repeat,
      error: result.failed > 0 ? `${result.failed} joiners failed` : null,
      documentBytes: result.documentBytes,
      joiners: result.joiners,
      synced: result.synced,
      allSyncedMs: result.allSyncedMs ?? Infinity,
      medianSyncedMs: median(result.syncedAtMs),
      rssAtStormBytes: atStorm?.rssBytes ?? NaN,
      peakRssBytes: Math.max(...during.map((sample) => sample.rssBytes)),
      stormCpuMs: cpuMs,
      generatorCpuMs: generatorUsage.cpuMs,
      serverWaitPct: waitPct,
      generatorWaitPct: generatorUsage.waitPct,
    };
  } finally {
    await stopProcess(serverProcess, 3000);
    cleanup();
  }
}

const seconds = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'not all');

export async function joinStorm(options: BenchOptions): Promise<{ records: StormRecord[]; markdown: string }> {
  const servers = availableServers(options.servers).filter((name) => {
    if (STORM_SERVERS.has(name)) return true;
    console.error(`join storm: skipping ${name} (${name === 'relay' ? 'holds no document' : 'speaks another protocol'})`);
    return false;
  });
  const records: StormRecord[] = [];
  for (let repeat = 0; repeat < options.repeat; repeat++) {
    // Rotate the order each repeat, so slow drift on a shared machine does not favour one server.
    for (const name of servers.map((_, index) => servers[(index + repeat) % servers.length])) {
      process.stderr.write(`join storm: ${SERVERS[name].label}, repeat ${repeat + 1} … `);
      try {
        const record = await stormOnce(stormServer(SERVERS[name]), options, `storm-${name}-r${repeat + 1}`, repeat);
        records.push(record);
        process.stderr.write(`all synced in ${seconds(record.allSyncedMs)} s, peak RSS ${megabytes(record.peakRssBytes)}\n`);
      } catch (error) {
        records.push({ server: name, repeat, error: (error as Error).message, documentBytes: NaN, joiners: options.stormJoiners, synced: 0, allSyncedMs: Infinity, medianSyncedMs: NaN, rssAtStormBytes: NaN, peakRssBytes: NaN, stormCpuMs: NaN, generatorCpuMs: NaN, serverWaitPct: NaN, generatorWaitPct: NaN });
        process.stderr.write(`FAILED: ${(error as Error).message}\n`);
      }
    }
  }
  const rows = records.map((record) => [
    SERVERS[record.server].label,
    record.repeat + 1,
    megabytes(record.documentBytes),
    `${record.synced}/${record.joiners}`,
    seconds(record.allSyncedMs),
    seconds(record.medianSyncedMs),
    megabytes(record.rssAtStormBytes),
    megabytes(record.peakRssBytes),
    Number.isFinite(record.stormCpuMs) ? Math.round(record.stormCpuMs) : '–',
    Number.isFinite(record.generatorCpuMs) ? Math.round(record.generatorCpuMs) : '–',
    `${Math.round(record.serverWaitPct)} / ${Math.round(record.generatorWaitPct)}`,
    record.error ?? '',
  ]);
  const method =
    `${options.stormJoiners} joiners connect evenly within ${options.stormSpreadMs} ms to one room whose document is ${options.stormChunks} inserts of 10 KB ` +
    'into a Y.Text, each sent as its own update by a seeding client that stays in the room. Each joiner sends a sync step 1 with an empty state vector ' +
    'and is synced once the sync step 2 has fully arrived. Time from the first connect; RSS sampled every 50 ms from /proc.';
  const table = markdownTable(['server', 'repeat', 'document', 'synced', 'all synced, s', 'median synced, s', 'RSS at storm start', 'peak RSS', 'server CPU ms', 'generator CPU ms', 'run-queue wait % server / gen', 'notes'], rows);
  return { records, markdown: [method, '', table].join('\n') };
}
