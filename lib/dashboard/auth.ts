import type { Logger } from '../core/logger.js';
import { bearerToken, secretsMatch } from '../util/bearer-token.js';
import type { DashboardRequest } from './http.js';
import type { DashboardAuthorize } from './options.js';

/**
 * Whether a request may read the dashboard: it carries the admin token as a bearer token, or the
 * host's `authorize` accepts it. Anything else (no header, another scheme, a throwing
 * `authorize`) is a refusal.
 */
export function createAuthorizer(token: string | null, authorize: DashboardAuthorize | null, logger: Logger): (request: DashboardRequest) => Promise<boolean> {
  return async (request) => {
    if (token !== null && secretsMatch(bearerToken(request.raw.headers.authorization), token)) return true;
    if (authorize === null) return false;
    try {
      return (await authorize(request.raw, request.context)) === true;
    } catch (error) {
      logger.warn({ err: error, path: request.path }, 'dashboard authorize function failed; request refused');
      return false;
    }
  };
}
