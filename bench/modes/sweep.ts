/** The sweep: every server at every user count, repeated; the runs of one repeat in rotating order. */
import type { BenchOptions } from '../lib/options.js';
import { summariseProfile } from '../lib/profile.js';
import { failedRecord, recordOf, type RunRecord } from '../lib/record.js';
import { runAgainst, type LoadSpec } from '../lib/run-once.js';
import { SERVERS, type ServerDef } from '../lib/servers.js';
import { sweepReport } from '../lib/sweep-report.js';

export interface ModeResult {
  records: RunRecord[];
  /** The Markdown tables. */
  markdown: string;
}

/** Servers whose dependencies are installed; the others are skipped with a note. */
export function availableServers(names: string[]): string[] {
  return names.filter((name) => {
    if (SERVERS[name].available()) return true;
    console.error(`skipping ${name}: not available (${SERVERS[name].args.join(' ')})`);
    return false;
  });
}

const contention = (record: RunRecord) => Math.max(record.serverWaitPct, record.generatorWaitPct);

/**
 * One run, rerun (up to `retries` times) while another process kept the server or the generator
 * waiting for its core more than `contentionRetryPct` of the time; the least contended run is kept.
 */
async function leastContendedRun(server: ServerDef, spec: LoadSpec, options: BenchOptions, tag: string, repeat: number): Promise<RunRecord> {
  let record = recordOf(server, await runAgainst(server, spec, options, tag), spec, repeat);
  for (let retry = 1; retry <= options.retries && contention(record) > options.contentionRetryPct; retry++) {
    process.stderr.write(`(contended: waited ${record.serverWaitPct}/${record.generatorWaitPct}% for the cores; again) `);
    const again = recordOf(server, await runAgainst(server, spec, options, `${tag}-retry${retry}`), spec, repeat);
    if (contention(again) < contention(record)) record = again;
  }
  return record;
}

function describe(record: RunRecord, startedMs: number): string {
  return (
    `${record.cpuMsPerUserSec} ms/user-s, CPU ${record.serverCpuPercent}%, doc p99 ${record.docP99} ms, presence p99 ${record.presP99} ms, ` +
    `gen ${record.generatorCpuPercent}%${record.generatorSaturated ? ' (saturated)' : ''}, wait ${record.serverWaitPct}/${record.generatorWaitPct}% [${Math.round((Date.now() - startedMs) / 1000)} s]`
  );
}

/** The profiles of the highest load's first repeat, summarised per server. */
function profileSection(records: RunRecord[], options: BenchOptions, servers: string[]): string {
  const top = Math.max(...options.users);
  let markdown = '\n\n### Where the servers spend their CPU (V8 profiles, highest load, first repeat)\n';
  for (const server of servers) {
    const record = records.find((candidate) => candidate.server === server && candidate.users === top && candidate.profileDir && !candidate.error);
    if (record?.profileDir) markdown += `\n#### ${SERVERS[server].label}, ${top} users\n\n${summariseProfile(record.profileDir)}\n`;
  }
  return markdown;
}

export async function sweep(options: BenchOptions): Promise<ModeResult> {
  const records: RunRecord[] = [];
  const servers = availableServers(options.servers);
  const total = options.repeat * options.users.length * servers.length;
  let done = 0;
  for (let repeat = 0; repeat < options.repeat; repeat++) {
    for (const users of options.users) {
      // Rotate the order each repeat, so slow drift on a shared machine does not favour one server.
      const order = servers.map((_, index) => servers[(index + repeat) % servers.length]);
      for (const name of order) {
        const server = SERVERS[name];
        const spec: LoadSpec = { users, roomSize: options.roomSize, docRate: options.docRate, presenceRate: options.presenceRate, durationMs: options.durationMs, rampMs: options.rampMs };
        const startedMs = Date.now();
        process.stderr.write(`[${++done}/${total}] ${server.label}, ${users} users, repeat ${repeat + 1} … `);
        try {
          const record = await leastContendedRun(server, spec, options, `${name}-${users}-r${repeat + 1}`, repeat);
          records.push(record);
          process.stderr.write(`${describe(record, startedMs)}\n`);
        } catch (error) {
          records.push(failedRecord(name, users, repeat, (error as Error).message));
          process.stderr.write(`FAILED: ${(error as Error).message}\n`);
        }
      }
    }
  }
  let markdown = sweepReport(records, options);
  if (options.profile) markdown += profileSection(records, options, servers);
  return { records, markdown };
}
