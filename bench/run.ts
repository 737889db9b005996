/**
 * The comparative benchmark: Symphony against the y-websocket reference server, Hocuspocus and a
 * naive ws byte relay, each started as its own process pinned to one core, with the load generator
 * (loadtest/cli.ts, a separate process) pinned to the other. Server CPU and RSS come from /proc.
 *
 *   npm run bench                                     # sweep: 500,1000,2000 users, 60 s, 3 repeats
 *   npm run bench -- --users 500,1000 --duration 30s --repeat 3 --servers symphony,y-websocket
 *   npm run bench -- --quick                          # smoke run: 200 users, 10 s, once
 *   npm run bench -- --scenario big-rooms             # rooms of 50, 400 users (also: seed-mix, rooms of 4, 1,200 users)
 *   npm run bench -- --soak 10m [--soak-users 1000]   # CPU per user-second as documents grow
 *   npm run bench -- --memory [--memory-connections 10000 --memory-rooms 10000]
 *   npm run bench -- --join-storm [--repeat 3 --storm-joiners 150 --storm-spread 1s --storm-chunks 2000]
 *   npm run bench -- --report-from bench/output/bench-sweep-….json   # the tables of an earlier sweep
 *
 * Also: --ramp, --room-size, --doc-rate, --presence-rate, --memory-preload, --server-core,
 * --generator-core, --no-pin, --nice, --quiet-wait, --retries, --contention-retry, --profile, --out.
 *
 * Writes bench/output/bench-<mode>-<timestamp>.{json,md} and prints the tables.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { machineInfo, type MachineInfo } from './lib/machine.js';
import { parseBenchCommand, type BenchOptions } from './lib/options.js';
import { pinSelf } from './lib/proc.js';
import type { RunRecord } from './lib/record.js';
import { sweepReport } from './lib/sweep-report.js';
import { joinStorm } from './modes/join-storm.js';
import { memory } from './modes/memory.js';
import { soak } from './modes/soak.js';
import { sweep } from './modes/sweep.js';

/** Each mode's records go to the JSON file as they are; its Markdown to the screen and the .md file. */
const MODES: Record<BenchOptions['mode'], (options: BenchOptions) => Promise<{ records: unknown[]; markdown: string }>> = { sweep, soak, memory, 'join-storm': joinStorm };

/** The doc comment above, as --help prints it. */
function usage(): string {
  const source = readFileSync(new URL(import.meta.url), 'utf8');
  return source.slice(0, source.indexOf('*/') + 2);
}

/** The Markdown header of a result: what was run, where, how long, under which conditions. */
function resultHeader(options: BenchOptions, machine: MachineInfo, command: string, started: Date, finished: Date): string {
  const peers = Object.entries(machine.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const load =
    `- load: rooms of ${options.roomSize}, ${options.docRate} doc + ${options.presenceRate} presence updates per user per second` +
    (options.mode === 'sweep'
      ? `; ramp ${options.rampMs / 1000} s, steady ${options.durationMs / 1000} s (first ${Math.min(5, options.durationMs / 4000)} s of it not measured), ${options.repeat} repeat(s)`
      : '');
  const loadAtEnd = os
    .loadavg()
    .map((average) => average.toFixed(2))
    .join(' ');
  return [
    `## ${options.mode} — ${started.toISOString()}`,
    '',
    `- command: \`${command}\``,
    `- machine: ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}, commit ${machine.commit}`,
    `- peers: ${peers}`,
    load,
    `- pinning: server on core ${options.serverCore ?? '-'}, generator on core ${options.generatorCore ?? '-'}${options.nice ? `, both at nice ${options.nice}` : ''}; load average at start ${machine.loadAverage.join(' ')}, at end ${loadAtEnd}`,
    `- took ${Math.round((finished.getTime() - started.getTime()) / 60000)} min`,
    '',
  ].join('\n');
}

async function runBenchmark(options: BenchOptions, argv: string[]): Promise<void> {
  mkdirSync(join(options.outDir, 'logs'), { recursive: true });
  // The harness shares the generator's core: it must not take the server's.
  if (options.generatorCore !== null) pinSelf(options.generatorCore);
  const started = new Date();
  const machine = machineInfo();
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  console.error(`bench: ${options.mode}, servers ${options.servers.join(', ')}; server on core ${options.serverCore ?? '(any)'}, generator on core ${options.generatorCore ?? '(any)'}`);
  const { records, markdown } = await MODES[options.mode](options);
  const finished = new Date();
  const header = resultHeader(options, machine, command, started, finished);
  const base = join(options.outDir, `bench-${options.mode}-${started.toISOString().replace(/[:.]/g, '-')}`);
  writeFileSync(`${base}.json`, JSON.stringify({ options, machine, command, started, finished, records }, null, 2));
  writeFileSync(`${base}.md`, `${header}\n${markdown}\n`);
  console.log(`${header}\n${markdown}\n`);
  console.error(`written: ${base}.md, ${base}.json`);
}

async function main(argv: string[]): Promise<void> {
  let command: ReturnType<typeof parseBenchCommand>;
  try {
    command = parseBenchCommand(argv);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  if (command.kind === 'help') {
    console.log(usage());
  } else if (command.kind === 'report-from') {
    const saved = JSON.parse(readFileSync(command.file, 'utf8')) as { options: BenchOptions; records: RunRecord[] };
    console.log(sweepReport(saved.records, saved.options));
  } else {
    await runBenchmark(command.options, argv);
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
