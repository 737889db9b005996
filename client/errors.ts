/**
 * Why a room cannot (or, for `room-full` and `token-unavailable`, cannot yet) be connected.
 *
 * - `auth-refused`: the token function returned `null`, the server refused access to the room
 *   (4403), or it refused a static token as unauthenticated (4401) before the room synced: a retry
 *   would send the same token. The room stops connecting; call `room.reconnect()` once the user
 *   has new credentials.
 * - `auth-expired`: the server closed with 4401 (credentials expired, revoked or refused). The room
 *   calls the token function again and reconnects with back-off; `authenticate` decides again.
 * - `room-full`: the server closed with 4429. The room keeps retrying with back-off.
 * - `message-too-large`: the server closed with 1009. Reconnecting would resend the same message,
 *   so the room stops; undo the oversized change, then call `room.reconnect()`.
 * - `document-too-large`: the server closed with 4413 (the document reached its size limit). The
 *   room stops for the same reason.
 * - `room-deleted`: the server closed with 4410: the room was deleted. The room stops; reconnecting
 *   would bring the deleted document back from this client's copy.
 * - `refused`: any other 4400–4499 close code, which by convention means the server made a
 *   decision a retry cannot change. The room stops.
 * - `token-unavailable`: the token function threw (often: the app's own token endpoint is not
 *   reachable while offline). The room keeps retrying with back-off.
 */
export type RoomErrorCode = 'auth-refused' | 'auth-expired' | 'room-full' | 'message-too-large' | 'document-too-large' | 'room-deleted' | 'refused' | 'token-unavailable';

/** An error the app can act on, emitted as a room's `error` event (and kept in `room.error` when it stops the room). */
export class SymphonyClientError extends Error {
  override readonly name = 'SymphonyClientError';

  constructor(
    readonly code: RoomErrorCode,
    /** The room the error concerns. */
    readonly room: string,
    message: string,
    readonly details: {
      /** The WebSocket close code that caused the error, if a close caused it. */
      readonly closeCode?: number;
      /** True when the room keeps trying to connect in the background. */
      readonly retrying: boolean;
      readonly cause?: unknown;
    },
  ) {
    super(`room "${room}": ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get closeCode(): number | null {
    return this.details.closeCode ?? null;
  }

  get retrying(): boolean {
    return this.details.retrying;
  }
}
