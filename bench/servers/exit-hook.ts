/**
 * Preloaded into a server under test in --profile runs: exits normally on SIGTERM so that
 * `node --cpu-prof` writes its profile (a process killed by a signal writes none).
 */
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => setTimeout(() => process.exit(0), 200));
}
