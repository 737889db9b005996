import { ConfigurationError } from '../errors.js';

/** Returns `value` if it is a positive integer; otherwise throws a `ConfigurationError` naming the option. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigurationError(`"${name}" must be a positive integer, got ${String(value)}`);
  return value;
}
