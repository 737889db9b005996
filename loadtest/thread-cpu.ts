import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of utime and stime in /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time of the calling thread (utime + stime, ms) from /proc/thread-self, or -1 where there is
 * no /proc. Per thread, because `process.cpuUsage()` adds up every thread and so cannot tell which
 * generator thread is saturated.
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    // The fields after the ")" that closes the command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return -1;
  }
}

/** CPU ms the thread used since `markMs` (a `threadCpuMs()` reading), or -1 when either reading failed. */
export function threadCpuSince(markMs: number, nowMs: number): number {
  return markMs >= 0 && nowMs >= 0 ? nowMs - markMs : -1;
}
