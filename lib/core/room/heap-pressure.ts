import { getHeapStatistics } from 'node:v8';

/**
 * True when the heap is fuller than `maxHeapUsedPercent` of its limit. Checked before a room is
 * loaded (not per message): loading is what grows memory by a whole document at once, and
 * refusing it with 503 keeps the process, and every room already loaded, alive.
 */
export function heapAboveLimit(maxHeapUsedPercent: number): boolean {
  const { used_heap_size: used, heap_size_limit: limit } = getHeapStatistics();
  return used * 100 > limit * maxHeapUsedPercent;
}
