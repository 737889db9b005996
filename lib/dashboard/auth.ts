import type { Logger } from '../core/logger.js';
import { bearerToken, secretsMatch } from '../util/bearer-token.js';
import { RateLimiter } from '../util/rate-limiter.js';
import type { DashboardRequest } from './http.js';
import type { DashboardAuthorize } from './options.js';

/** What the dashboard does with a request: serve it, refuse it (401), or refuse it unheard (429). */
export type AuthorizationVerdict = { readonly kind: 'allowed' } | { readonly kind: 'refused' } | { readonly kind: 'rate-limited'; readonly retryAfterSeconds: number };

const allowed: AuthorizationVerdict = Object.freeze({ kind: 'allowed' });
const refused: AuthorizationVerdict = Object.freeze({ kind: 'refused' });

export interface AuthorizerOptions {
  readonly token: string | null;
  readonly authorize: DashboardAuthorize | null;
  /** Failed authentications one client address may have per `failedAuthenticationWindowMs`. */
  readonly maxFailedAuthentications: number;
  readonly failedAuthenticationWindowMs: number;
  readonly logger: Logger;
}

/**
 * Whether a request may read the dashboard: it carries the admin token as a bearer token, or the
 * host's `authorize` accepts it. Anything else (no header, another scheme, a throwing
 * `authorize`) is a refusal. An address with too many refusals in a window is answered 429
 * without looking at its credentials at all, so the token cannot be guessed at network speed.
 */
export function createAuthorizer(options: AuthorizerOptions): (request: DashboardRequest) => Promise<AuthorizationVerdict> {
  const { token, authorize, logger } = options;
  const failures = new RateLimiter({ limit: options.maxFailedAuthentications, windowMs: options.failedAuthenticationWindowMs });
  const isAuthorized = async (request: DashboardRequest): Promise<boolean> => {
    if (token !== null && secretsMatch(bearerToken(request.raw.headers.authorization), token)) return true;
    if (authorize === null) return false;
    try {
      return (await authorize(request.raw, request.context)) === true;
    } catch (error) {
      logger.warn({ err: error, path: request.path }, 'dashboard authorize function failed; request refused');
      return false;
    }
  };
  return async (request) => {
    const address = request.clientAddress ?? request.raw.socket.remoteAddress ?? 'unknown';
    if (failures.isLimited(address)) return { kind: 'rate-limited', retryAfterSeconds: Math.ceil(failures.retryAfterMs(address) / 1_000) };
    if (await isAuthorized(request)) return allowed;
    if (failures.hit(address) === failures.limit) {
      // Once per address and window, not once per request: a flood must not flood the log too.
      logger.warn({ clientAddress: address, failures: failures.limit, windowMs: failures.windowMs }, 'dashboard: too many failed authentications; this address is refused until the window ends');
    }
    return refused;
  };
}
