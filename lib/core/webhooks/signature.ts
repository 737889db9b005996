import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a webhook request carries its signature in. */
export const SIGNATURE_HEADER = 'Symphony-Signature';

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /**
   * Oldest (and furthest in the future) a signature's timestamp may be, in seconds. A captured
   * request replayed later than this is refused; the window allows for clock skew and retries
   * that wait in a slow queue.
   * @default 300
   */
  toleranceSeconds?: number;
  /** The receiver's clock, in seconds since the epoch (for tests). @default Date.now() / 1000 */
  nowSeconds?: number;
}

const DEFAULT_TOLERANCE_SECONDS = 300;

function digest(timestampSeconds: number, rawBody: string | Uint8Array, secret: string): Buffer {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestampSeconds}.`);
  hmac.update(rawBody);
  return hmac.digest();
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`: the value of the `Symphony-Signature` header. */
export function signWebhook(rawBody: string | Uint8Array, secret: string, timestampSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${timestampSeconds},v1=${digest(timestampSeconds, rawBody, secret).toString('hex')}`;
}

/**
 * True if `header` (the `Symphony-Signature` request header) signs `rawBody` with `secret` and its
 * timestamp lies within `toleranceSeconds` of now. Pass the body exactly as received, before any
 * JSON parsing: re-serialised JSON need not match byte for byte. Several `v1=` entries are accepted
 * (one matching is enough), so a sender can sign with an old and a new secret while they rotate.
 */
export function verifyWebhook(rawBody: string | Uint8Array, header: string | null | undefined, secret: string, options: VerifyWebhookOptions = {}): boolean {
  if (typeof header !== 'string' || typeof secret !== 'string' || secret === '') return false;
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === null || signatures.length === 0) return false;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? Date.now() / 1000;
  if (Math.abs(now - timestamp) > tolerance) return false;
  const expected = digest(timestamp, rawBody, secret);
  // Every candidate is compared in constant time, so timing reveals neither which one nor how much matched.
  let matched = false;
  for (const signature of signatures) matched = timingSafeEqual(signature, expected) || matched;
  return matched;
}
