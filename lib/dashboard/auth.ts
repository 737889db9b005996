import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { DashboardRequest } from './http.js';
import type { DashboardAuthorize } from './options.js';

/**
 * Whether a request may read the dashboard: it carries the admin token as a bearer token, or the
 * host's `authorize` accepts it. Anything else (no header, another scheme, a throwing
 * `authorize`) is a refusal.
 */
export function createAuthorizer(token: string | null, authorize: DashboardAuthorize | null, logger: Logger): (request: DashboardRequest) => Promise<boolean> {
  // Comparing digests keeps the comparison constant-time whatever the candidate's length.
  const expected = token === null ? null : digest(token);
  return async (request) => {
    if (expected !== null) {
      const presented = bearerToken(request.raw.headers.authorization);
      if (presented !== null && timingSafeEqual(digest(presented), expected)) return true;
    }
    if (authorize === null) return false;
    try {
      return (await authorize(request.raw, request.context)) === true;
    } catch (error) {
      logger.warn({ err: error, path: request.path }, 'dashboard authorize function failed; request refused');
      return false;
    }
  };
}

function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match ? match[1] : null;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
