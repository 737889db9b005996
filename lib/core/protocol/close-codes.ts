/**
 * WebSocket close codes Symphony uses, with what a client should do on each.
 *
 * Stock y-websocket providers reconnect after every close (with back-off); the Symphony client SDK
 * reads these codes to stop retrying where a retry cannot succeed.
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
  /** The client read too slowly: more than `limits.maxBufferedBytes` were waiting. Reconnect with back-off. */
  tryAgainLater: 1013,
  /** The connection's credentials were revoked. Do not retry without new credentials. */
  authRevoked: 4401,
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
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type CloseCodeValue = (typeof CloseCode)[CloseCodeName];

/** Reasons are limited to 123 bytes by RFC 6455; keep ours short and stable. */
export const CloseReason = {
  serviceRestart: 'server restarting',
  protocolError: 'malformed message',
  unknownMessageType: 'unknown message type',
  messageTooBig: 'message too big',
  internalError: 'internal error',
  tryAgainLater: 'client too slow',
  documentTooLarge: 'document too large',
  tooManyItems: 'document has too many items',
  contentTooLarge: 'document content too large',
  nestingTooDeep: 'shared types nested too deep',
  missingDependencies: 'too many updates wait for missing data',
  roomDamaged: 'room damaged; reconnect to reload it',
  roomFull: 'room full',
} as const;
