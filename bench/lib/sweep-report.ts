/** The sweep's tables: per-run figures, each server's capacity, and Symphony's cost relative to each peer. */
import { kilobytes, markdownTable, median, medianAndRange } from './figures.js';
import type { BenchOptions } from './options.js';
import type { RunRecord } from './record.js';
import { SERVERS } from './servers.js';

/** A server at or above this CPU % is saturated: its CPU per user-second is capped at 1000 ÷ users and it falls behind. */
export const SATURATED_PCT = 90;

/** Symphony's target CPU per user-second as a share of each peer's, unless the scenario sets its own. */
const TARGET_RATIO: Record<string, number> = { 'y-websocket': 0.5, hocuspocus: 1 / 3, relay: 1 };

type Options = Pick<BenchOptions, 'servers' | 'users' | 'repeat' | 'p99TargetMs'> & Partial<Pick<BenchOptions, 'targetRatios'>>;

const completed = (records: RunRecord[], server: string, users: number) => records.filter((record) => record.server === server && record.users === users && !record.error);
const isSaturated = (runs: RunRecord[]) => median(runs.map((run) => run.serverCpuPercent)) >= SATURATED_PCT;

export function sweepReport(records: RunRecord[], options: Options): string {
  const servers = options.servers.filter((server) => records.some((record) => record.server === server));
  const sections = [resultsTable(records, options, servers), '', resultsNote(records), '', capacityTable(records, options, servers)];
  if (servers.includes('symphony')) sections.push('', ratioTable(records, options, servers));
  return sections.join('\n');
}

function resultsRow(records: RunRecord[], server: string, users: number): (string | number)[] {
  const runs = completed(records, server, users);
  const failures = records.filter((record) => record.server === server && record.users === users && record.error);
  if (!runs.length) return [users, SERVERS[server].label, `failed: ${failures[0]?.error ?? '?'}`, '', '', '', '', '', '', '', '', '', '', ''];
  const each = (figure: (run: RunRecord) => number) => runs.map(figure);
  return [
    users,
    SERVERS[server].label,
    medianAndRange(each((run) => run.cpuMsPerUserSec)) + (isSaturated(runs) ? ' (sat.)' : ''),
    medianAndRange(each((run) => run.serverCpuPercent), 0),
    `${medianAndRange(each((run) => run.docP50), 1)} / ${medianAndRange(each((run) => run.docP99), 1)}`,
    `${medianAndRange(each((run) => run.presP50), 1)} / ${medianAndRange(each((run) => run.presP99), 1)}`,
    `${medianAndRange(each((run) => run.docP99Clean), 1)} / ${medianAndRange(each((run) => run.presP99Clean), 1)} (${median(each((run) => run.cleanWindowsPct)).toFixed(0)}%)`,
    `${medianAndRange(each((run) => run.docMissingPct), 2)} / ${medianAndRange(each((run) => run.presMissingPct), 2)}`,
    `${medianAndRange(each((run) => run.presSupersededPct), 1)} / ${Math.max(...each((run) => run.presLatestMissing))}`,
    `${(median(each((run) => run.rssBytes)) / 1024 ** 2).toFixed(0)} MB`,
    kilobytes(median(each((run) => run.rssPerUserBytes))),
    medianAndRange(each((run) => run.generatorCpuPercent), 0) + (runs.some((run) => run.generatorSaturated) ? ' ⚠' : ''),
    `${median(each((run) => run.serverWaitPct)).toFixed(0)} / ${median(each((run) => run.generatorWaitPct)).toFixed(0)}`,
    `${runs.length}${failures.length ? ` (+${failures.length} failed)` : ''}`,
  ];
}

function resultsTable(records: RunRecord[], options: Options, servers: string[]): string {
  const rows = options.users.flatMap((users) => servers.map((server) => resultsRow(records, server, users)));
  return markdownTable(
    [
      'users',
      'server',
      'CPU ms per user-second',
      'server CPU %',
      'doc p50 / p99 ms',
      'presence p50 / p99 ms',
      'p99 doc / presence without generator stalls, ms (% of seconds kept)',
      'missing doc / presence %',
      'presence superseded % / latest states missing (max)',
      'RSS',
      'RSS per user KB',
      'generator CPU %',
      'run-queue wait % server / gen',
      'runs',
    ],
    rows,
  );
}

function resultsNote(records: RunRecord[]): string {
  return (
    `Medians of the runs, (min–max) over runs. (sat.): the server used ≥ ${SATURATED_PCT} % of its core, so its CPU per user-second is capped at 1000 ÷ users and not comparable. Run-queue wait: share of the measured window the main thread was ready to run ` +
    'but its core was busy with other processes (/proc/<pid>/schedstat); high values mean latencies are inflated by contention, ' +
    'while CPU time per user-second is largely unaffected.' +
    (records.some((record) => record.generatorSaturated) ? ' ⚠: the generator reported saturation in at least one run (latency includes its delay).' : '')
  );
}

/** Users per core: from CPU cost at the highest unsaturated load, and the highest load that met the latency target. */
function capacityTable(records: RunRecord[], options: Options, servers: string[]): string {
  const rows = servers.map((server) => {
    const unsaturated = options.users.filter((users) => {
      const runs = completed(records, server, users);
      return runs.length > 0 && !isSaturated(runs);
    });
    const highestUnsaturated = unsaturated.length ? Math.max(...unsaturated) : NaN;
    const cpuPerUser = median(completed(records, server, highestUnsaturated).map((run) => run.cpuMsPerUserSec));
    const meetingTarget = options.users.filter((users) => {
      const runs = completed(records, server, users);
      return (
        runs.length > 0 &&
        median(runs.map((run) => Math.max(run.docP99Clean, run.presP99Clean))) < options.p99TargetMs &&
        median(runs.map((run) => run.docMissingPct)) < 1 &&
        median(runs.map((run) => run.serverCpuPercent)) < 100
      );
    });
    const best = meetingTarget.length ? Math.max(...meetingTarget) : 0;
    const loaded = records.filter((record) => record.server === server && !record.error);
    return [
      SERVERS[server].label,
      Number.isFinite(cpuPerUser) ? `${Math.floor(1000 / cpuPerUser).toLocaleString('en-US')} (from ${highestUnsaturated} users)` : 'saturated at every load tested',
      best ? `${best === Math.max(...options.users) ? '≥ ' : ''}${best.toLocaleString('en-US')}` : `< ${Math.min(...options.users)}`,
      kilobytes(median(loaded.map((run) => run.rssPerUserBytes))),
    ];
  });
  return markdownTable(
    [
      'server',
      'CPU-bound ceiling (users per core = 1000 ÷ CPU ms per user-s at the highest unsaturated load)',
      `users per core with p99 < ${options.p99TargetMs} ms (highest tested load that met it; p99 without generator stalls, median of runs)`,
      'RSS per connected user under load, KB',
    ],
    rows,
  );
}

/** Symphony ÷ peer per repeat: both ran in the same sweep at the same user count, so drift cancels out. */
function ratioTable(records: RunRecord[], options: Options, servers: string[]): string {
  const rows: (string | number)[][] = [];
  for (const users of options.users) {
    for (const peer of servers.filter((server) => server !== 'symphony')) {
      const ratios: number[] = [];
      for (let repeat = 0; repeat < options.repeat; repeat++) {
        const find = (server: string) => records.find((record) => record.server === server && record.users === users && record.repeat === repeat && !record.error);
        const symphony = find('symphony');
        const other = find(peer);
        if (symphony && other) ratios.push(symphony.cpuMsPerUserSec / other.cpuMsPerUserSec);
      }
      const ratio = median(ratios);
      const target = (options.targetRatios ?? TARGET_RATIO)[peer];
      const saturated = [isSaturated(completed(records, 'symphony', users)) ? 'Symphony' : '', isSaturated(completed(records, peer, users)) ? 'peer' : ''].filter(Boolean).join(' and ');
      rows.push([
        users,
        SERVERS[peer].label,
        medianAndRange(ratios, 2) + (saturated ? ` (${saturated} saturated: not comparable)` : ''),
        target !== undefined ? `≤ ${target.toFixed(2)}` : '',
        Number.isFinite(ratio) && target !== undefined ? (ratio <= target ? 'met' : `missed by ${((ratio / target - 1) * 100).toFixed(0)}%`) : '–',
      ]);
    }
  }
  return [
    'Symphony ÷ peer, server CPU per user-second (ratio per repeat, same run, same user count; median (min–max)):',
    '',
    markdownTable(['users', 'peer', 'ratio', 'target', 'verdict'], rows),
  ].join('\n');
}
