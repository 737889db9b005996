import type { IncomingMessage } from 'node:http';
import { AuthenticationError } from '../errors.js';
import { tokenFromUrl } from '../http/room-name.js';
import type { UpgradeRefusal } from '../http/upgrade-refusal.js';
import type { Logger } from '../logger.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { AuthResult, SymphonyHooks } from '../types.js';
import { TimeoutError, withTimeout } from '../../util/with-timeout.js';

const anonymous: AuthResult = Object.freeze({ userId: 'anonymous' });

/** What `authenticate` decided: the connection's identity (and when it expires), or how to refuse it. */
export type AuthDecision = { readonly auth: AuthResult; readonly expiresAtMs: number | null } | { readonly refusal: UpgradeRefusal };

export interface AuthenticateSettings {
  readonly hook: SymphonyHooks['authenticate'];
  readonly timeoutMs: number;
  /** Refuse by opening the socket and closing it with 4401/4403 (see `refuseWithCloseCode`). */
  readonly refuseWithCloseCode: boolean;
  readonly logger: Logger;
}

/**
 * Runs the `authenticate` hook for one upgrade, bounded by its timeout, and turns every outcome
 * into a decision. A refusal is expected traffic (expired tokens, signed-out users): it is logged
 * at info level without a stack. A hook that throws something other than an `AuthenticationError`,
 * resolves to nonsense or hangs is a fault of the app: logged as a warning with its error.
 */
export async function authenticateUpgrade(request: IncomingMessage, room: string, settings: AuthenticateSettings): Promise<AuthDecision> {
  const { hook, logger } = settings;
  if (!hook) return { auth: anonymous, expiresAtMs: null };
  const refuse = (status: 401 | 403, message: string): AuthDecision => ({
    refusal: settings.refuseWithCloseCode ? { status, message, closeCode: status === 403 ? CloseCode.forbidden : CloseCode.authRevoked } : { status, message },
  });
  let auth: AuthResult;
  try {
    auth = await withTimeout(Promise.resolve(hook({ request, room, token: tokenFromUrl(request.url) })), settings.timeoutMs, 'authenticate');
  } catch (error) {
    if (error instanceof AuthenticationError) {
      logger.info({ room, status: error.status, reason: error.message }, 'connection refused by authenticate');
      return refuse(error.status, error.message);
    }
    if (error instanceof TimeoutError) {
      logger.warn({ room, timeoutMs: settings.timeoutMs }, 'connection refused: authenticate timed out (limits.authenticateTimeoutMs)');
      return { refusal: { status: 503, message: 'authentication timed out', headers: { 'Retry-After': '5' } } };
    }
    logger.warn({ room, err: error }, 'connection refused: authenticate failed with an error that is not an AuthenticationError');
    return refuse(401, CloseReason.unauthorized);
  }
  const expiresAtMs = auth && typeof auth === 'object' ? expiryOf(auth.expiresAt) : undefined;
  if (!auth || typeof auth.userId !== 'string' || expiresAtMs === undefined) {
    logger.warn({ room }, 'connection refused: authenticate must resolve to { userId: string, expiresAt?: Date | number }');
    return refuse(401, CloseReason.unauthorized);
  }
  if (expiresAtMs !== null && expiresAtMs <= Date.now()) {
    logger.info({ room, userId: auth.userId }, 'connection refused: its credentials expired');
    return refuse(401, CloseReason.authExpired);
  }
  return { auth, expiresAtMs };
}

/** `expiresAt` as epoch milliseconds; null when absent; undefined when it is not a valid time. */
function expiryOf(expiresAt: unknown): number | null | undefined {
  if (expiresAt === undefined || expiresAt === null) return null;
  const ms = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}
