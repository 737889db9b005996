import { ConfigurationError } from '../core/errors.js';

/** Returns `value` if it is a positive integer; otherwise throws a `ConfigurationError` naming the option. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigurationError(`"${name}" must be a positive integer, got ${String(value)}`);
  return value;
}

/** Returns `value` if it is a non-negative integer; otherwise throws a `ConfigurationError` naming the option. */
export function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new ConfigurationError(`"${name}" must be a non-negative integer, got ${String(value)}`);
  return value;
}

/**
 * Parses `value` as a URL whose scheme is one of `schemes` (e.g. `['http:', 'https:']`); otherwise
 * throws a `ConfigurationError` that names the option and shows what was expected.
 */
export function urlWithScheme(name: string, value: string, schemes: readonly string[], example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${name} is not a valid URL: ${JSON.stringify(value)} (expected e.g. ${example})`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new ConfigurationError(`${name} must start with ${schemes.map((scheme) => `${scheme}//`).join(' or ')}, got ${url.protocol}//`);
  }
  return url;
}
