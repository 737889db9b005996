import { createHash, timingSafeEqual } from 'node:crypto';

/** The token of an `Authorization: Bearer <token>` header, or null for any other header. */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

/**
 * Whether a presented secret equals the expected one, in constant time. Comparing SHA-256 digests
 * makes both sides the same length, so neither the content nor the length of the secret leaks
 * through timing.
 */
export function secretsMatch(presented: string | null, expected: string): boolean {
  return timingSafeEqual(sha256(presented ?? ''), sha256(expected)) && presented !== null;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
