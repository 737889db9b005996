#!/usr/bin/env node
/**
 * symphony-loadtest: load-test a Yjs WebSocket server the way real clients use it.
 * See --help, and loadtest/README.md.
 */
import { writeFileSync } from 'node:fs';
import { HELP, parseArgs, type CliOptions } from './args.js';
import { renderReport } from './report.js';
import { VERSION, runLoadTest, type LoadTestResult } from './run.js';
import { formatSummary, progressLine } from './summary.js';

function thresholdsMissed(r: LoadTestResult, o: CliOptions): string[] {
  const out: string[] = [];
  if (o.maxP99Ms !== null) {
    if (r.latencyMs.doc.p99 > o.maxP99Ms) out.push(`document p99 ${r.latencyMs.doc.p99} ms > ${o.maxP99Ms} ms`);
    if (r.latencyMs.presence.p99 > o.maxP99Ms) out.push(`presence p99 ${r.latencyMs.presence.p99} ms > ${o.maxP99Ms} ms`);
  }
  if (o.maxMissingPercent !== null) {
    const d = r.messages.doc;
    const pctMissing = d.expected ? (d.missing / d.expected) * 100 : 0;
    if (pctMissing > o.maxMissingPercent) out.push(`${pctMissing.toFixed(2)}% of document updates missing > ${o.maxMissingPercent}%`);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`symphony-loadtest: ${(err as Error).message}\n`);
    return 1;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (opts.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const tty = process.stderr.isTTY && !opts.quiet;
  const abort = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let lastPlain = 0;
  let result: LoadTestResult;
  try {
    result = await runLoadTest(opts.config, {
      signal: abort.signal,
      onProgress: (p) => {
        if (opts.quiet) return;
        if (tty) {
          const cols = process.stderr.columns || 120;
          process.stderr.write(`\r\x1b[2K${progressLine(p).slice(0, cols - 1)}`);
        } else if (p.elapsedMs - lastPlain >= 10_000 || p.phase === 'closing') {
          lastPlain = p.elapsedMs;
          process.stderr.write(`${progressLine(p)}\n`);
        }
      },
    });
  } catch (err) {
    if (tty) process.stderr.write('\n');
    process.stderr.write(`symphony-loadtest: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (tty) process.stderr.write('\r\x1b[2K');
  const json = JSON.stringify(result, null, 2);
  if (opts.json === '-') process.stdout.write(`${json}\n`);
  else {
    if (opts.json) writeFileSync(opts.json, `${json}\n`);
    process.stdout.write(`${formatSummary(result)}\n`);
  }
  if (opts.report) {
    writeFileSync(opts.report, renderReport(result));
    if (opts.json !== '-') process.stdout.write(`Report written to ${opts.report}\n`);
  }
  if (result.connections.opened === 0) return 2;
  const missed = thresholdsMissed(result, opts);
  if (missed.length) {
    process.stderr.write(`thresholds missed: ${missed.join('; ')}\n`);
    return 3;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`symphony-loadtest: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
