/** Human-readable output: the live progress line and the end-of-run summary. */
import type { LatencySummary } from './histogram.js';
import type { LoadTestResult, Progress } from './run.js';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (a: number, b: number) => (b > 0 ? `${((a / b) * 100).toFixed(2)}%` : '0%');

export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtBytes(b: number): string {
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toFixed(2)} GB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toFixed(1)} MB`;
  if (b >= 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${Math.round(b)} B`;
}

function rate(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : `${Math.round(n)}`;
}

/** One line, redrawn in place on a TTY: a bar for the elapsed time and the live figures. */
export function progressLine(p: Progress, width = 24): string {
  const frac = Math.min(1, p.elapsedMs / p.totalMs);
  const filled = Math.round(frac * width);
  const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
  const w = p.window;
  const c = w.counters;
  const target = p.totals.opened + p.totals.failed;
  const parts = [
    `${bar} ${String(Math.round(frac * 100)).padStart(3)}%`,
    p.phase.padEnd(7),
    `users ${w.synced}/${target}${p.totals.failed ? ` (${p.totals.failed} failed)` : ''}${p.totals.dropped ? ` (${p.totals.dropped} dropped)` : ''}`,
    `out ${rate(c.msgsOut)}/s in ${rate(c.msgsIn)}/s`,
    `doc p99 ${w.doc.count ? fmtMs(w.doc.p99) : '-'}`,
    `presence p99 ${w.presence.count ? fmtMs(w.presence.p99) : '-'}`,
    `gen CPU ${Math.round(w.generatorCpuPercent)}%`,
  ];
  if (w.server?.cpuPercent != null) parts.push(`server CPU ${Math.round(w.server.cpuPercent)}%`);
  return parts.join(' │ ');
}

function latencyRow(name: string, l: LatencySummary): string {
  if (!l.count) return `  ${name.padEnd(10)} (none received)`;
  const cols = [l.p50, l.p95, l.p99, l.max].map((v) => fmtMs(v).padStart(9));
  return `  ${name.padEnd(10)}${cols.join('')}   (${int(l.count)} samples)`;
}

export function formatSummary(r: LoadTestResult): string {
  const c = r.config;
  const lines: string[] = [];
  const d = r.messages.doc;
  const p = r.messages.presence;
  lines.push(`symphony-loadtest ${r.version} — ${c.url} (${c.protocol} protocol)${r.aborted ? '  [ABORTED]' : ''}`);
  lines.push(
    `${int(c.users)} users in ${int(r.rooms)} rooms of ${c.roomSize} · ${c.docRate} doc + ${c.presenceRate} presence updates/s each · ` +
      `ramp ${c.rampMs / 1000}s, steady ${c.durationMs / 1000}s · started ${r.startedAt}`,
  );
  lines.push('');
  lines.push('Connections');
  lines.push(
    `  opened ${int(r.connections.opened)}/${int(r.connections.target)}   synced ${int(r.connections.synced)}   ` +
      `failed ${int(r.connections.failed)}   dropped ${int(r.connections.dropped)}   ` +
      `handshake p50 ${fmtMs(r.connections.handshakeMs.p50)} p99 ${fmtMs(r.connections.handshakeMs.p99)}`,
  );
  lines.push('Messages');
  lines.push(
    `  document  sent ${int(d.sent)}   received ${int(d.received)} of ${int(d.expected)} expected   ` +
      `missing ${int(d.missing)} (${pct(d.missing, d.expected)})${d.echoes ? `   echoed to sender ${int(d.echoes)}` : ''}`,
  );
  lines.push(
    `  presence  sent ${int(p.sent)}   received ${int(p.received)} of ${int(p.expected)} expected   ` +
      `missing ${int(p.missing)} (${pct(p.missing, p.expected)})${p.echoes ? `   echoed to sender ${int(p.echoes)}` : ''}`,
  );
  if (p.missing > 0 && d.missing === 0) {
    lines.push('            (a server may coalesce presence to the latest state per user: missing presence is not lost data)');
  }
  lines.push(
    `  total     out ${int(r.messages.out.messages)} (${fmtBytes(r.messages.out.bytes)})   in ${int(r.messages.in.messages)} (${fmtBytes(r.messages.in.bytes)})` +
      (r.messages.skippedBackpressure ? `   skipped (socket backed up) ${int(r.messages.skippedBackpressure)}` : ''),
  );
  lines.push('Fan-out latency, steady phase     p50      p95      p99      max');
  lines.push(latencyRow('document', r.latencyMs.doc));
  lines.push(latencyRow('presence', r.latencyMs.presence));
  const clean = r.latencyMsWithoutGeneratorStalls;
  if (clean && clean.windowsKept < clean.windowsTotal) {
    lines.push(`  leaving out the ${clean.windowsTotal - clean.windowsKept} of ${clean.windowsTotal} seconds in which the generator itself stalled (event-loop delay > ${clean.stallThresholdMs} ms):`);
    lines.push(latencyRow('document', clean.doc));
    lines.push(latencyRow('presence', clean.presence));
  }
  const t = r.throughput;
  lines.push('Throughput, steady phase');
  lines.push(`  out ${int(t.outMsgPerSec)} msg/s (${fmtBytes(t.outBytesPerSec)}/s)   in ${int(t.inMsgPerSec)} msg/s (${fmtBytes(t.inBytesPerSec)}/s)`);
  const g = r.generator;
  lines.push('Generator (this process)');
  lines.push(
    `  CPU ${g.cpuPercent}% of one core (user ${g.userPercent}%, system ${g.systemPercent}%, peak ${g.maxCpuPercent}%)   ` +
      `send lag p99 ${fmtMs(g.sendLagMs.p99)}`,
  );
  for (const th of g.threads) {
    const cpu = th.cpuPercent != null ? `CPU ${th.cpuPercent}% of a core, ` : '';
    lines.push(`  thread ${th.name}: ${cpu}event loop ${Math.round(th.eventLoopUtilization * 100)}% busy, delay p99 ${fmtMs(th.eventLoopDelayP99Ms)}`);
  }
  if (g.saturated) {
    lines.push(`  WARNING: the generator was saturated (${g.saturationReasons.join('; ')}).`);
    lines.push('  Latencies include the generator\'s own delay: run fewer users per generator, or --workers on a machine with free cores.');
  } else {
    lines.push('  not saturated: the latencies above are the server\'s and the network\'s');
  }
  if (r.server) {
    const s = r.server;
    lines.push(`Server (${s.source})`);
    if (!s.samples.length) lines.push(`  no stats read${s.error ? `: ${s.error}` : ''}`);
    else
      lines.push(
        `  CPU ${s.cpuPercent != null ? `${Math.round(s.cpuPercent)}% median in steady phase` : 'n/a (the stats response has no CPU figure)'}` +
          `${s.maxCpuPercent != null ? ` (peak ${Math.round(s.maxCpuPercent)}%)` : ''}   ` +
          `RSS ${s.rssBytes != null ? fmtBytes(s.rssBytes) : 'n/a'}${s.maxRssBytes != null ? ` (peak ${fmtBytes(s.maxRssBytes)})` : ''}` +
          `${s.heapUsedBytes != null ? `   heap used ${fmtBytes(s.heapUsedBytes)}` : ''}`,
      );
  }
  if (r.errors.length) {
    lines.push('Errors (first of each kind)');
    for (const e of r.errors.slice(0, 10)) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}
