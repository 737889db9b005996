/** Small statistics and Markdown helpers for the benchmark's tables. Non-finite values are "no figure". */

export const median = (values: number[]): number => {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
export const minimum = (values: number[]) => Math.min(...values.filter(Number.isFinite));
export const maximum = (values: number[]) => Math.max(...values.filter(Number.isFinite));
/** Rounded to 2 or 3 decimals; NaN stays NaN (a table prints it as "–"). */
export const round2 = (value: number) => (Number.isFinite(value) ? Math.round(value * 100) / 100 : NaN);
export const round3 = (value: number) => (Number.isFinite(value) ? Math.round(value * 1000) / 1000 : NaN);
export const kilobytes = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1024).toFixed(1) : '–');
export const megabytes = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 ** 2).toFixed(0)} MB` : '–');

/** "median (min–max)" of the repeats, or the one value. */
export function medianAndRange(values: number[], digits = 3): string {
  const format = (value: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
  if (values.length <= 1) return format(median(values));
  return `${format(median(values))} (${format(minimum(values))}–${format(maximum(values))})`;
}

export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? (Number.isFinite(cell) ? String(cell) : '–') : cell)));
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of cells) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}
