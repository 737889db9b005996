/**
 * WebSocket close codes Symphony uses, with what a client should do on each.
 *
 * Stock y-websocket providers reconnect after every close (with back-off); the Symphony client SDK
 * reads these codes to stop retrying where a retry cannot succeed.
 *
 * docs/errors-and-close-codes.md is generated from this file (`npm run docs:codes`), and the
 * README's close-code table is checked against it: a new code needs a row in both.
 */
export const CloseCode = {
  /** The server shuts down or restarts (graceful shutdown, scale-in). Reconnect at once: another node takes over. */
  serviceRestart: 1012,
  /** A malformed, truncated or unknown message. Reconnecting is fine; resending the same bytes fails again. */
  protocolError: 1002,
  /** A message larger than `limits.maxMessageBytes`. Do not resend the same message. */
  messageTooBig: 1009,
  /** Unexpected server error. Retry with back-off. */
  internalError: 1011,
  /**
   * Reconnect with back-off: the client read too slowly (more than `limits.maxBufferedBytes` were
   * waiting), or the room's storage cannot be written (its updates are refused, not applied; the
   * client keeps them and sends them again when it reconnects).
   */
  tryAgainLater: 1013,
  /**
   * Unauthenticated: the credentials are missing, were refused, expired (`expiresAt`) or were
   * revoked (`symphony.disconnect`). Get fresh credentials (a new token), then reconnect:
   * `authenticate` decides again.
   */
  authRevoked: 4401,
  /** Forbidden: `authenticate` refused these credentials for this room. Do not retry; a new token will not change it. */
  forbidden: 4403,
  /** The room was deleted (`symphony.deleteRoom`). Do not reconnect to it: a reconnect would start a new, empty room. */
  roomDeleted: 4410,
  /**
   * The document reached `limits.maxDocumentBytes`, `maxDocumentItems` or `maxDocumentContentBytes`;
   * the update was refused. Retrying the same change fails again.
   */
  documentTooLarge: 4413,
  /** The update nested shared types deeper than `limits.maxNestingDepth`; nothing of it was applied. Do not resend it. */
  nestingTooDeep: 4422,
  /**
   * Updates waiting for missing data exceeded `limits.maxPendingBytes` and were dropped. Reconnect:
   * the sync on connecting sends the missing data with them. (HTTP 424, in the 45xx range because
   * stock y-websocket providers stop reconnecting on every 44xx code.)
   */
  missingDependencies: 4524,
  /** The room reached `limits.maxConnectionsPerRoom`. Retry later, with back-off. */
  roomFull: 4429,
  /**
   * Presence (awareness) broke a rule: a `limits.maxPresence*` limit, a state that is not JSON, a
   * clock out of range. The reason says which. Do not reconnect with the same presence: it fails again.
   */
  presenceRefused: 4430,
} as const;

/** The name of a close code, e.g. `roomFull`. */
export type CloseCodeName = keyof typeof CloseCode;
/** A close code Symphony sends, e.g. `4429`. */
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Reasons are limited to 123 bytes by RFC 6455; keep ours short and stable. */
export const CloseReason = {
  serviceRestart: 'server restarting',
  protocolError: 'malformed message',
  /** Sent with `protocolError`: a message type (or sync step) this server does not know. */
  unknownMessageType: 'unknown message type',
  messageTooBig: 'message too big',
  internalError: 'internal error',
  tryAgainLater: 'client too slow',
  storageUnavailable: 'storage unavailable',
  documentTooLarge: 'document too large',
  tooManyItems: 'document has too many items',
  contentTooLarge: 'document content too large',
  nestingTooDeep: 'shared types nested too deep',
  missingDependencies: 'too many updates wait for missing data',
  roomDamaged: 'room damaged; reconnect to reload it',
  roomFull: 'room full',
  authRevoked: 'credentials revoked',
  authExpired: 'credentials expired',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  roomDeleted: 'room deleted',
} as const;
