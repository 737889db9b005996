import type { IncomingMessage } from 'node:http';
import { ConfigurationError } from '../errors.js';

/**
 * Normalises the `allowedOrigins` option: `'*'` becomes null (every origin), a list becomes the
 * set of its origins as a browser writes them (`URL.origin`: lower-case, default port dropped).
 * Throws a `ConfigurationError` for an entry that is not an origin.
 */
export function parseAllowedOrigins(value: readonly string[] | '*'): ReadonlySet<string> | null {
  if (value === '*') return null;
  if (!Array.isArray(value)) throw new ConfigurationError(`"allowedOrigins" must be an array of origins or '*', got ${JSON.stringify(value)}`);
  const origins = new Set<string>();
  for (const entry of value) {
    const url = typeof entry === 'string' ? parseUrl(entry) : null;
    const origin = url && (url.protocol === 'http:' || url.protocol === 'https:') ? url.origin : null;
    if (origin === null || url === null || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
      throw new ConfigurationError(`"allowedOrigins" entries must be origins like "https://app.example.com" (scheme, host and port only), got ${JSON.stringify(entry)}`);
    }
    origins.add(origin);
  }
  return origins;
}

/**
 * Whether a browser on the request's origin may open this WebSocket: no `Origin` header (not a
 * browser), an origin on the request's own host, or one of `allowed` (null: every origin).
 * Version 8 clients send `Sec-WebSocket-Origin` instead of `Origin`.
 */
export function originAllowed(request: IncomingMessage, allowed: ReadonlySet<string> | null): boolean {
  if (allowed === null) return true;
  const header = request.headers.origin ?? request.headers['sec-websocket-origin'];
  if (header === undefined) return true;
  const origin = originOf(Array.isArray(header) ? header[0] : header);
  if (origin === null) return false;
  if (allowed.has(origin)) return true;
  const host = request.headers.host;
  return host !== undefined && sameHost(new URL(origin), host);
}

/** The `Origin` header a request carries, for logs. */
export function originHeader(request: IncomingMessage): string | undefined {
  const header = request.headers.origin ?? request.headers['sec-websocket-origin'];
  return Array.isArray(header) ? header[0] : header;
}

/** `scheme://host[:port]` of an http(s) URL, or null (`null`, `file://`, garbage). */
function originOf(value: string): string | null {
  const url = parseUrl(value);
  return url && (url.protocol === 'http:' || url.protocol === 'https:') ? url.origin : null;
}

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/**
 * Whether the origin names the host (and port) of a `Host` header. A `Host` without a port means
 * the scheme's default port, whichever scheme the client used (TLS may end at a proxy).
 */
function sameHost(origin: URL, host: string): boolean {
  const url = parseUrl(`http://${host}`);
  if (url === null || url.hostname !== origin.hostname) return false;
  const hostPort = /:(\d+)$/.exec(host)?.[1];
  if (hostPort === undefined) return origin.port === '';
  return hostPort === (origin.port || (origin.protocol === 'https:' ? '443' : '80'));
}
