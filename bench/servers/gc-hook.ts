/**
 * Preloaded into a server under test in memory runs only (`node --expose-gc --import tsx
 * --import ./bench/servers/gc-hook.ts …`): on SIGUSR2 it runs a full garbage collection and writes
 * process.memoryUsage() to $BENCH_MEM_FILE, so the harness compares live memory, not garbage.
 * It does nothing until signalled.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_MEM_FILE;
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  if (file) writeFileSync(file, JSON.stringify({ at: Date.now(), gc: Boolean(gc), ...process.memoryUsage() }));
});
