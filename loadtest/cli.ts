#!/usr/bin/env node
/**
 * symphony-loadtest: load-test a Yjs WebSocket server the way real clients use it.
 * See --help, and loadtest/README.md.
 */
import { writeFileSync } from 'node:fs';
import { HELP, parseCommandLine, type CliOptions } from './args.js';
import { renderReport } from './report.js';
import { VERSION, runLoadTest, type LoadTestResult, type Progress } from './run.js';
import { formatSummary, progressLine } from './summary.js';

/** The `--max-*` thresholds the result missed, in words; empty when it met them all. */
function thresholdsMissed(result: LoadTestResult, options: CliOptions): string[] {
  const missed: string[] = [];
  const { doc, presence } = result.latencyMs;
  if (options.maxP99Ms !== null) {
    if (doc.p99 > options.maxP99Ms) missed.push(`document p99 ${doc.p99} ms > ${options.maxP99Ms} ms`);
    if (presence.p99 > options.maxP99Ms) missed.push(`presence p99 ${presence.p99} ms > ${options.maxP99Ms} ms`);
  }
  if (options.maxMissingPercent !== null) {
    const sent = result.messages.doc;
    const missingPercent = sent.expected ? (sent.missing / sent.expected) * 100 : 0;
    if (missingPercent > options.maxMissingPercent) missed.push(`${missingPercent.toFixed(2)}% of document updates missing > ${options.maxMissingPercent}%`);
  }
  return missed;
}

/** How often the progress line is printed when stderr is not a terminal (a CI log). */
const PLAIN_PROGRESS_INTERVAL_MS = 10_000;

/** Redraws the progress line in place on a terminal; prints one every 10 s to a log. */
function progressPrinter(options: CliOptions): (progress: Progress) => void {
  const terminal = process.stderr.isTTY && !options.quiet;
  let lastPrintedMs = 0;
  return (progress) => {
    if (options.quiet) return;
    if (terminal) {
      const columns = process.stderr.columns || 120;
      process.stderr.write(`\r\x1b[2K${progressLine(progress).slice(0, columns - 1)}`);
    } else if (progress.elapsedMs - lastPrintedMs >= PLAIN_PROGRESS_INTERVAL_MS || progress.phase === 'closing') {
      lastPrintedMs = progress.elapsedMs;
      process.stderr.write(`${progressLine(progress)}\n`);
    }
  };
}

/** A first Ctrl-C stops the run gracefully (the result is still written); a second quits at once. */
function stopOnInterrupt(abort: AbortController): () => void {
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping (Ctrl-C again to quit at once)…\n');
    abort.abort();
  };
  process.on('SIGINT', onInterrupt);
  return () => process.off('SIGINT', onInterrupt);
}

function writeOutputs(result: LoadTestResult, options: CliOptions): void {
  const json = JSON.stringify(result, null, 2);
  if (options.json === '-') process.stdout.write(`${json}\n`);
  else {
    if (options.json) writeFileSync(options.json, `${json}\n`);
    process.stdout.write(`${formatSummary(result)}\n`);
  }
  if (options.report) {
    writeFileSync(options.report, renderReport(result));
    if (options.json !== '-') process.stdout.write(`Report written to ${options.report}\n`);
  }
}

/** Exit codes: 0 done, 1 usage or fatal error, 2 no connection succeeded, 3 a --max-* threshold was missed. */
export async function main(argv: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`symphony-loadtest: ${(error as Error).message}\n`);
    return 1;
  }
  for (const warning of options.warnings) process.stderr.write(`symphony-loadtest: ${warning}\n`);
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const terminal = process.stderr.isTTY && !options.quiet;
  const abort = new AbortController();
  const stopListening = stopOnInterrupt(abort);
  let result: LoadTestResult;
  try {
    result = await runLoadTest(options.config, { signal: abort.signal, onProgress: progressPrinter(options) });
  } catch (error) {
    if (terminal) process.stderr.write('\n');
    process.stderr.write(`symphony-loadtest: ${(error as Error).message}\n`);
    return 1;
  } finally {
    stopListening();
  }
  if (terminal) process.stderr.write('\r\x1b[2K');
  writeOutputs(result, options);
  if (result.connections.opened === 0) return 2;
  const missed = thresholdsMissed(result, options);
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
  (error) => {
    process.stderr.write(`symphony-loadtest: ${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  },
);
