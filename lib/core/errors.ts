/**
 * Typed errors. Each carries the room (and connection) it concerns and, where one exists, the
 * underlying cause, so a log line or a caught error says what failed where.
 */
export class SymphonyError extends Error {
  readonly code: string;
  readonly room?: string;

  constructor(code: string, message: string, options: { room?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.room !== undefined) this.room = options.room;
  }
}

/** Invalid options passed to `attachSymphony` or a store: thrown at once, at start. */
export class ConfigurationError extends SymphonyError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('SYMPHONY_ERR_CONFIGURATION', message, options);
  }
}

/**
 * Thrown (or rejected) by an `authenticate` hook to refuse a connection. `status` is the HTTP status
 * of the refused upgrade: 401 (no or bad credentials, the default) or 403 (valid, not allowed).
 */
export class AuthenticationError extends SymphonyError {
  readonly status: 401 | 403;

  constructor(message = 'authentication failed', options: { status?: 401 | 403; cause?: unknown } = {}) {
    super('SYMPHONY_ERR_AUTHENTICATION', message, { cause: options.cause });
    this.status = options.status ?? 401;
  }
}

/** A room's state could not be loaded: the room is not served (never served empty). */
export class RoomLoadError extends SymphonyError {
  constructor(room: string, cause: unknown) {
    super('SYMPHONY_ERR_ROOM_LOAD', `room "${room}" failed to load`, { room, cause });
  }
}

/** A checkpoint could not be written: the room stays in memory and the checkpoint is retried. */
export class CheckpointError extends SymphonyError {
  constructor(room: string, cause: unknown) {
    super('SYMPHONY_ERR_CHECKPOINT', `room "${room}" could not be checkpointed`, { room, cause });
  }
}

/** The room's updates cannot be written (a full disk, an I/O error): changes are refused until the store recovers. */
export class StorageUnavailableError extends SymphonyError {
  constructor(room: string) {
    super('SYMPHONY_ERR_STORAGE_UNAVAILABLE', `room "${room}" cannot store changes right now; retry later`, { room });
  }
}

/** The operation needs a running server, but `close()` was called. */
export class ClosedError extends SymphonyError {
  constructor(operation: string) {
    super('SYMPHONY_ERR_CLOSED', `cannot ${operation}: Symphony is closed`);
  }
}

/** A room name that is empty, too long or holds control characters. */
export class InvalidRoomNameError extends SymphonyError {
  constructor(reason: string) {
    super('SYMPHONY_ERR_ROOM_NAME', `invalid room name: ${reason}`);
  }
}
