/** The earlier of two dates. */
export function earliest(a: Date, b: Date): Date {
  return a <= b ? a : b;
}

/** The later of two dates. */
export function latest(a: Date, b: Date): Date {
  return a >= b ? a : b;
}

/** The later of two dates, where null means "never" and loses to any date. */
export function latestOrNull(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return latest(a, b);
}

/** The earlier of two dates, where null means "unknown" and loses to any date. */
export function earliestOrNull(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return earliest(a, b);
}
