/**
 * Memory: what an idle connection and a loaded room cost each server, read after a forced full GC
 * (bench/servers/gc-hook.ts) before any connection and in the middle of the steady phase.
 */
import { buildPreload } from '../../loadtest/run.js';
import { kilobytes, markdownTable, megabytes } from '../lib/figures.js';
import type { BenchOptions } from '../lib/options.js';
import { recordOf, type RunRecord } from '../lib/record.js';
import { runAgainst, type LoadSpec, type MemoryProbe } from '../lib/run-once.js';
import { SERVERS, type ServerDef } from '../lib/servers.js';
import { availableServers, type ModeResult } from './sweep.js';

/** Thousands of connections need a slow ramp, or the servers measure their connect storm. */
const MEMORY_RAMP_MS = 40_000;
const MEMORY_STEADY_MS = 20_000;

/** Live memory: the V8 heap in use plus what it holds outside the heap (ArrayBuffers: documents, socket buffers). */
const liveBytes = (probe: MemoryProbe) => probe.heapUsed + probe.external;

/** The targets (y/hub's published figures): an idle connection, and a room loaded with the whiteboard document. */
const TARGET_PER_CONNECTION_BYTES = 2.4 * 1024;
const TARGET_PER_ROOM_BYTES = 76 * 1024;

/**
 * What one more connection costs: the growth between the probe half-way through the ramp and the
 * one in the steady phase, per socket opened in between. Unlike Δ ÷ connections from the idle
 * server, it leaves out what the first connections cost once (compiled code, the young generation
 * growing to its working size), which otherwise weighs more the fewer connections a run opens.
 */
function marginal(run: { memoryHalfway?: MemoryProbe; memoryDuring?: MemoryProbe }): { rss: number; live: number } {
  const { memoryHalfway: halfway, memoryDuring: during } = run;
  if (!halfway || !during || !(during.sockets > halfway.sockets)) return { rss: NaN, live: NaN };
  const added = during.sockets - halfway.sockets;
  return { rss: (during.rss - halfway.rss) / added, live: (liveBytes(during) - liveBytes(halfway)) / added };
}

const verdict = (bytes: number, target: number) => (Number.isFinite(bytes) ? `${kilobytes(bytes)} (${bytes <= target ? 'met' : `${Math.round((100 * bytes) / target - 100)} % over`})` : '–');

interface ServerMemory {
  /** RSS before any connection. */
  baseRss: number;
  idleRss: number;
  perConnectionRss: number;
  perConnectionLive: number;
  loadedRss: number;
  perRoomRss: number;
  perRoomLive: number;
  /** marginal costs (see `marginal`) */
  marginalConnectionRss: number;
  marginalConnectionLive: number;
  marginalRoomRss: number;
  marginalRoomLive: number;
  notes: string;
}

/** Idle connections: synced, in rooms, sending nothing. */
async function measureConnections(server: ServerDef, name: string, options: BenchOptions, memory: ServerMemory, records: RunRecord[]): Promise<void> {
  const spec: LoadSpec = { users: options.memoryConnections, roomSize: options.roomSize, docRate: 0, presenceRate: 0, durationMs: MEMORY_STEADY_MS, rampMs: options.explicitRamp ? options.rampMs : MEMORY_RAMP_MS };
  process.stderr.write(`memory: ${server.label}, ${spec.users} idle connections … `);
  const run = await runAgainst(server, spec, options, `mem-idle-${name}`, true);
  const record = recordOf(server, run, spec, 0);
  const connections = Math.max(1, record.syncedUsers);
  if (run.memoryBefore && run.memoryDuring) {
    memory.baseRss = run.memoryBefore.rss;
    memory.idleRss = run.memoryDuring.rss;
    memory.perConnectionRss = (run.memoryDuring.rss - run.memoryBefore.rss) / connections;
    memory.perConnectionLive = (liveBytes(run.memoryDuring) - liveBytes(run.memoryBefore)) / connections;
  } else memory.notes += 'idle: memory probe missed the steady phase; ';
  const added = marginal(run);
  memory.marginalConnectionRss = added.rss;
  memory.marginalConnectionLive = added.live;
  record.extra = { kind: 'idle-connections', memBefore: run.memoryBefore, memHalfway: run.memoryHalfway, memDuring: run.memoryDuring };
  records.push(record);
  if (run.result.connections.synced < spec.users) memory.notes += `${spec.users - run.result.connections.synced} idle connections failed; `;
  process.stderr.write(`${kilobytes(memory.perConnectionRss)} KB RSS, ${kilobytes(memory.perConnectionLive)} KB heap+external per connection; marginal ${kilobytes(added.rss)} / ${kilobytes(added.live)} KB\n`);
}

/** Loaded rooms: one connection each, which uploads a document on joining. The connection's own cost is taken off. */
async function measureRooms(server: ServerDef, name: string, options: BenchOptions, memory: ServerMemory, records: RunRecord[]): Promise<void> {
  const spec: LoadSpec = {
    users: options.memoryRooms,
    roomSize: 1,
    docRate: 0,
    presenceRate: 0,
    durationMs: MEMORY_STEADY_MS,
    rampMs: options.explicitRamp ? options.rampMs : MEMORY_RAMP_MS,
    extraArgs: ['--preload', String(options.memoryPreload)],
  };
  process.stderr.write(`memory: ${server.label}, ${spec.users} loaded rooms … `);
  const run = await runAgainst(server, spec, options, `mem-rooms-${name}`, true);
  const record = recordOf(server, run, spec, 0);
  const rooms = Math.max(1, record.syncedUsers);
  const known = (bytes: number) => (Number.isFinite(bytes) ? bytes : 0);
  if (run.memoryBefore && run.memoryDuring) {
    memory.loadedRss = run.memoryDuring.rss;
    memory.perRoomRss = (run.memoryDuring.rss - run.memoryBefore.rss) / rooms - known(memory.perConnectionRss);
    memory.perRoomLive = (liveBytes(run.memoryDuring) - liveBytes(run.memoryBefore)) / rooms - known(memory.perConnectionLive);
  } else memory.notes += 'rooms: memory probe missed the steady phase; ';
  const added = marginal(run);
  memory.marginalRoomRss = added.rss - known(memory.marginalConnectionRss);
  memory.marginalRoomLive = added.live - known(memory.marginalConnectionLive);
  record.extra = { kind: 'loaded-rooms', preloadOps: options.memoryPreload, memBefore: run.memoryBefore, memHalfway: run.memoryHalfway, memDuring: run.memoryDuring };
  records.push(record);
  if (run.result.connections.synced < spec.users) memory.notes += `${spec.users - run.result.connections.synced} room connections failed; `;
  process.stderr.write(`${kilobytes(memory.perRoomRss)} KB RSS, ${kilobytes(memory.perRoomLive)} KB heap+external per room; marginal ${kilobytes(memory.marginalRoomRss)} / ${kilobytes(memory.marginalRoomLive)} KB\n`);
}

async function measureServer(name: string, options: BenchOptions, records: RunRecord[]): Promise<(string | number)[]> {
  const server = SERVERS[name];
  const memory: ServerMemory = {
    baseRss: NaN,
    idleRss: NaN,
    perConnectionRss: NaN,
    perConnectionLive: NaN,
    loadedRss: NaN,
    perRoomRss: NaN,
    perRoomLive: NaN,
    marginalConnectionRss: NaN,
    marginalConnectionLive: NaN,
    marginalRoomRss: NaN,
    marginalRoomLive: NaN,
    notes: '',
  };
  try {
    await measureConnections(server, name, options, memory, records);
  } catch (error) {
    memory.notes += `idle run failed: ${(error as Error).message}; `;
    process.stderr.write(`FAILED: ${(error as Error).message}\n`);
  }
  try {
    await measureRooms(server, name, options, memory, records);
  } catch (error) {
    memory.notes += `loaded-rooms run failed: ${(error as Error).message}; `;
    process.stderr.write(`FAILED: ${(error as Error).message}\n`);
  }
  return [
    server.label,
    verdict(memory.marginalConnectionLive, TARGET_PER_CONNECTION_BYTES),
    kilobytes(memory.marginalConnectionRss),
    verdict(memory.marginalRoomLive, TARGET_PER_ROOM_BYTES),
    kilobytes(memory.marginalRoomRss),
    megabytes(memory.baseRss),
    megabytes(memory.idleRss),
    kilobytes(memory.perConnectionRss),
    kilobytes(memory.perConnectionLive),
    megabytes(memory.loadedRss),
    kilobytes(memory.perRoomRss),
    kilobytes(memory.perRoomLive),
    memory.notes,
  ];
}

export async function memory(options: BenchOptions): Promise<ModeResult> {
  const records: RunRecord[] = [];
  const rows: (string | number)[][] = [];
  for (const name of availableServers(options.servers)) rows.push(await measureServer(name, options, records));
  const preloadKb = (buildPreload(options.memoryPreload, 1).length / 1024).toFixed(1);
  const method =
    `Idle: ${options.memoryConnections.toLocaleString('en-US')} connections in rooms of ${options.roomSize}, synced, sending nothing. ` +
    `Loaded rooms: ${options.memoryRooms.toLocaleString('en-US')} rooms with one connection each; each room's document is uploaded on join ` +
    `(${options.memoryPreload} whiteboard edits in one update, ${preloadKb} KB encoded). ` +
    'Memory is read after a forced full GC (the server runs with --expose-gc and bench/servers/gc-hook.ts, signalled with SIGUSR2): ' +
    'before any connection, half-way through the ramp and in the middle of the steady phase. The target figures are marginal: ' +
    'the growth from the half-way probe to the steady one ÷ the sockets opened in between (per loaded room: minus the marginal connection). ' +
    'The averages (Δ from the idle server ÷ connections or rooms) include what the first connections cost once. ' +
    `Targets: ${kilobytes(TARGET_PER_CONNECTION_BYTES)} KB per idle connection, ${kilobytes(TARGET_PER_ROOM_BYTES)} KB per loaded room, ` +
    'judged on heap+ext: RSS after a collection moves in steps of heap pages and young-generation resizes (megabytes), ' +
    'so its marginal figure over a few thousand sockets swings by kilobytes from run to run. ' +
    '"heap+ext" is V8 heap used + external (ArrayBuffers) from process.memoryUsage().';
  const table = markdownTable(
    [
      'server',
      'per idle connection, marginal heap+ext KB',
      'marginal RSS KB',
      'per loaded room, marginal heap+ext KB',
      'marginal RSS KB',
      'RSS before',
      'RSS, idle conns',
      'average per connection (RSS) KB',
      '(heap+ext) KB',
      'RSS, loaded rooms',
      'average per room (RSS) KB',
      '(heap+ext) KB',
      'notes',
    ],
    rows,
  );
  return { records, markdown: [method, '', table].join('\n') };
}
