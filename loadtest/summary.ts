/** Human-readable output: the live progress line and the end-of-run summary. */
import type { LatencySummary } from './histogram.js';
import type { LoadTestResult, Progress } from './run.js';

const count = (value: number) => Math.round(value).toLocaleString('en-US');
const percentOf = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(2)}%` : '0%');

export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${Math.round(bytes)} B`;
}

function rate(perSecond: number): string {
  return perSecond >= 10_000 ? `${(perSecond / 1000).toFixed(1)}k` : `${Math.round(perSecond)}`;
}

/** One line, redrawn in place on a TTY: a bar for the elapsed time and the live figures. */
export function progressLine(progress: Progress, width = 24): string {
  const done = Math.min(1, progress.elapsedMs / progress.totalMs);
  const filled = Math.round(done * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const { window, totals } = progress;
  const target = totals.opened + totals.failed;
  const parts = [
    `${bar} ${String(Math.round(done * 100)).padStart(3)}%`,
    progress.phase.padEnd(7),
    `users ${window.synced}/${target}${totals.failed ? ` (${totals.failed} failed)` : ''}${totals.dropped ? ` (${totals.dropped} dropped)` : ''}`,
    `out ${rate(window.counters.messagesOut)}/s in ${rate(window.counters.messagesIn)}/s`,
    `doc p99 ${window.doc.count ? fmtMs(window.doc.p99) : '-'}`,
    `presence p99 ${window.presence.count ? fmtMs(window.presence.p99) : '-'}`,
    `gen CPU ${Math.round(window.generatorCpuPercent)}%`,
  ];
  if (window.server?.cpuPercent != null) parts.push(`server CPU ${Math.round(window.server.cpuPercent)}%`);
  return parts.join(' │ ');
}

function latencyRow(name: string, latency: LatencySummary): string {
  if (!latency.count) return `  ${name.padEnd(10)} (none received)`;
  const columns = [latency.p50, latency.p95, latency.p99, latency.max].map((ms) => fmtMs(ms).padStart(9));
  return `  ${name.padEnd(10)}${columns.join('')}   (${count(latency.count)} samples)`;
}

/** The end-of-run summary: one section per question a reader has, in the order they ask them. */
export function formatSummary(result: LoadTestResult): string {
  return [
    ...headerLines(result),
    '',
    ...connectionLines(result),
    ...messageLines(result),
    ...latencyLines(result),
    ...throughputLines(result),
    ...generatorLines(result),
    ...serverLines(result),
    ...errorLines(result),
  ].join('\n');
}

function headerLines({ config, version, aborted, rooms, startedAt }: LoadTestResult): string[] {
  return [
    `symphony-loadtest ${version} — ${config.url} (${config.protocol} protocol)${aborted ? '  [ABORTED]' : ''}`,
    `${count(config.users)} users in ${count(rooms)} rooms of ${config.roomSize} · ${config.docRate} doc + ${config.presenceRate} presence updates/s each · ` +
      `ramp ${config.rampMs / 1000}s, steady ${config.durationMs / 1000}s · started ${startedAt}`,
  ];
}

function connectionLines({ connections }: LoadTestResult): string[] {
  return [
    'Connections',
    `  opened ${count(connections.opened)}/${count(connections.target)}   synced ${count(connections.synced)}   ` +
      `failed ${count(connections.failed)}   dropped ${count(connections.dropped)}   ` +
      `handshake p50 ${fmtMs(connections.handshakeMs.p50)} p99 ${fmtMs(connections.handshakeMs.p99)}`,
  ];
}

function deliveryLine(name: string, sent: { sent: number; received: number; expected: number; missing: number; echoes: number; superseded?: number; latestMissing?: number }): string {
  return (
    `  ${name.padEnd(8)}  sent ${count(sent.sent)}   received ${count(sent.received)} of ${count(sent.expected)} expected   ` +
    `missing ${count(sent.missing)} (${percentOf(sent.missing, sent.expected)})${sent.echoes ? `   echoed to sender ${count(sent.echoes)}` : ''}` +
    (sent.superseded ? `   superseded by a later state ${count(sent.superseded)}` : '') +
    (sent.latestMissing === undefined ? '' : `   latest state missing ${count(sent.latestMissing)}`)
  );
}

function messageLines({ messages }: LoadTestResult): string[] {
  const lines = ['Messages', deliveryLine('document', messages.doc), deliveryLine('presence', messages.presence)];
  if (messages.presence.superseded > 0) {
    lines.push('            (superseded: the server coalesced presence to the latest state per user; "latest state missing" counts the lost ones)');
  }
  lines.push(
    `  total     out ${count(messages.out.messages)} (${fmtBytes(messages.out.bytes)})   in ${count(messages.in.messages)} (${fmtBytes(messages.in.bytes)})` +
      (messages.skippedBackpressure ? `   skipped (socket backed up) ${count(messages.skippedBackpressure)}` : ''),
  );
  return lines;
}

function latencyLines({ latencyMs, latencyMsWithoutGeneratorStalls: withoutStalls }: LoadTestResult): string[] {
  const lines = ['Fan-out latency, steady phase     p50      p95      p99      max', latencyRow('document', latencyMs.doc), latencyRow('presence', latencyMs.presence)];
  if (withoutStalls && withoutStalls.windowsKept < withoutStalls.windowsTotal) {
    lines.push(
      `  leaving out the ${withoutStalls.windowsTotal - withoutStalls.windowsKept} of ${withoutStalls.windowsTotal} seconds in which the generator itself stalled (event-loop delay > ${withoutStalls.stallThresholdMs} ms):`,
      latencyRow('document', withoutStalls.doc),
      latencyRow('presence', withoutStalls.presence),
    );
  }
  return lines;
}

function throughputLines({ throughput }: LoadTestResult): string[] {
  return [
    'Throughput, steady phase',
    `  out ${count(throughput.outMsgPerSec)} msg/s (${fmtBytes(throughput.outBytesPerSec)}/s)   in ${count(throughput.inMsgPerSec)} msg/s (${fmtBytes(throughput.inBytesPerSec)}/s)`,
  ];
}

function generatorLines({ generator }: LoadTestResult): string[] {
  const lines = [
    'Generator (this process)',
    `  CPU ${generator.cpuPercent}% of one core (user ${generator.userPercent}%, system ${generator.systemPercent}%, peak ${generator.maxCpuPercent}%)   ` +
      `send lag p99 ${fmtMs(generator.sendLagMs.p99)}`,
  ];
  for (const thread of generator.threads) {
    const cpu = thread.cpuPercent != null ? `CPU ${thread.cpuPercent}% of a core, ` : '';
    lines.push(`  thread ${thread.name}: ${cpu}event loop ${Math.round(thread.eventLoopUtilization * 100)}% busy, delay p99 ${fmtMs(thread.eventLoopDelayP99Ms)}`);
  }
  if (generator.saturated) {
    lines.push(`  WARNING: the generator was saturated (${generator.saturationReasons.join('; ')}).`);
    lines.push("  Latencies include the generator's own delay: run fewer users per generator, or --workers on a machine with free cores.");
  } else {
    lines.push("  not saturated: the latencies above are the server's and the network's");
  }
  return lines;
}

function serverLines({ server }: LoadTestResult): string[] {
  if (!server) return [];
  if (!server.samples.length) return [`Server (${server.source})`, `  no stats read${server.error ? `: ${server.error}` : ''}`];
  const cpu = server.cpuPercent != null ? `${Math.round(server.cpuPercent)}% median in steady phase` : 'n/a (the stats response has no CPU figure)';
  const peakCpu = server.maxCpuPercent != null ? ` (peak ${Math.round(server.maxCpuPercent)}%)` : '';
  const rss = `${server.rssBytes != null ? fmtBytes(server.rssBytes) : 'n/a'}${server.maxRssBytes != null ? ` (peak ${fmtBytes(server.maxRssBytes)})` : ''}`;
  const heap = server.heapUsedBytes != null ? `   heap used ${fmtBytes(server.heapUsedBytes)}` : '';
  return [`Server (${server.source})`, `  CPU ${cpu}${peakCpu}   RSS ${rss}${heap}`];
}

/** The first error of each kind: enough to see what went wrong without a flood. */
function errorLines({ errors }: LoadTestResult): string[] {
  if (!errors.length) return [];
  return ['Errors (first of each kind)', ...errors.slice(0, 10).map((error) => `  ${error}`)];
}
