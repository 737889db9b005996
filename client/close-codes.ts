import { CloseCode } from '../lib/core/protocol/close-codes.js';
import type { RoomErrorCode } from './errors.js';

/** What a room does after its socket closed. */
export interface CloseDecision {
  /** `now`: reconnect without waiting; `backoff`: reconnect after the exponential back-off; `never`: stop. */
  readonly reconnect: 'now' | 'backoff' | 'never';
  /** The error to report, if the close is one the app can act on. */
  readonly error: { readonly code: RoomErrorCode; readonly message: string } | null;
}

const retryWithBackoff: CloseDecision = { reconnect: 'backoff', error: null };

/**
 * Reads a close code with the retry meaning the server gives it (see `CloseCode`). `null` is a
 * close the client made itself (y-websocket's silence watchdog): reconnecting is always right.
 *
 * A browser cannot see why an upgrade was refused over HTTP: a 401/403 answer to the handshake, a
 * server that is down and a network that is gone all arrive as close code 1006. Those are therefore
 * retried. Symphony refuses authentication with close codes instead (4401, 4403), which it can read.
 */
export function decideAfterClose(code: number | null): CloseDecision {
  switch (code) {
    case null:
      return retryWithBackoff;
    case CloseCode.serviceRestart:
      // Graceful shutdown or scale-in: another node (or the restarted one) takes the room at once.
      return { reconnect: 'now', error: null };
    case CloseCode.authRevoked:
      // Expired, revoked or refused credentials: a fresh token may be accepted (authenticate decides again).
      return { reconnect: 'backoff', error: { code: 'auth-expired', message: 'the server needs fresh credentials (4401); reconnecting with a new token' } };
    case CloseCode.forbidden:
      return { reconnect: 'never', error: { code: 'auth-refused', message: 'the server refused access to this room (4403)' } };
    case CloseCode.messageTooBig:
      return { reconnect: 'never', error: { code: 'message-too-large', message: `a message exceeded the server's size limit (${code})` } };
    case CloseCode.documentTooLarge:
      return { reconnect: 'never', error: { code: 'document-too-large', message: `the document reached the server's size limit (${code})` } };
    case CloseCode.roomDeleted:
      // Reconnecting would send this client's copy to a new, empty room and bring the deleted document back.
      return { reconnect: 'never', error: { code: 'room-deleted', message: 'the room was deleted (4410)' } };
    case CloseCode.roomFull:
      return { reconnect: 'backoff', error: { code: 'room-full', message: `the room is full (${code}); retrying` } };
    default:
      // 4400–4499 mirror HTTP 4xx: a decision of the server that reconnecting cannot change.
      if (code >= 4400 && code < 4500) {
        return { reconnect: 'never', error: { code: 'refused', message: `the server refused the connection (${code})` } };
      }
      return retryWithBackoff;
  }
}
