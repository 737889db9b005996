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

/** Why `symphony.applyUpdate` refused an update: the same reasons a client's update is refused for. */
export type UpdateRejectionCode =
  /** Larger than `limits.maxMessageBytes`. */
  | 'SYMPHONY_ERR_UPDATE_TOO_LARGE'
  /** Applying it would grow the document beyond `limits.maxDocumentBytes`. */
  | 'SYMPHONY_ERR_DOCUMENT_TOO_LARGE'
  /** Not a valid Yjs update. */
  | 'SYMPHONY_ERR_MALFORMED_UPDATE'
  /** The room's journal cannot be written (a full disk): nothing is accepted until it can. */
  | 'SYMPHONY_ERR_STORAGE_UNAVAILABLE'
  /** It would nest shared types deeper than `limits.maxNestingDepth`. */
  | 'SYMPHONY_ERR_NESTING_TOO_DEEP'
  /** It left more than `limits.maxPendingBytes` waiting for data the document lacks (dropped again). */
  | 'SYMPHONY_ERR_MISSING_DEPENDENCIES'
  /** Yjs failed half-way through it: the room was unloaded without a checkpoint, to reload from the store. */
  | 'SYMPHONY_ERR_ROOM_DAMAGED';

/** The HTTP status each refusal answers with on the REST API. */
const updateRejectionStatus: Record<UpdateRejectionCode, 400 | 413 | 500 | 503> = {
  SYMPHONY_ERR_MALFORMED_UPDATE: 400,
  SYMPHONY_ERR_NESTING_TOO_DEEP: 400,
  SYMPHONY_ERR_MISSING_DEPENDENCIES: 400,
  SYMPHONY_ERR_UPDATE_TOO_LARGE: 413,
  SYMPHONY_ERR_DOCUMENT_TOO_LARGE: 413,
  SYMPHONY_ERR_ROOM_DAMAGED: 500,
  SYMPHONY_ERR_STORAGE_UNAVAILABLE: 503,
};

/**
 * An update from host code (or the REST API) was refused for a reason a client's update would be
 * refused for. `status` is the HTTP status that answers it: 413 for size limits, 400 otherwise.
 */
export class UpdateRejectedError extends SymphonyError {
  declare readonly code: UpdateRejectionCode;
  readonly status: 400 | 413 | 500 | 503;

  constructor(room: string, code: UpdateRejectionCode, message: string, cause?: unknown) {
    super(code, message, { room, cause });
    this.status = updateRejectionStatus[code];
  }
}

/** The operation needs something this server was not given, e.g. a version store or a store that can delete rooms. */
export class UnsupportedOperationError extends SymphonyError {
  constructor(message: string, room?: string) {
    super('SYMPHONY_ERR_UNSUPPORTED', message, { room });
  }
}

/** An argument of a server API call is of the wrong type or out of range. */
export class InvalidArgumentError extends SymphonyError {
  constructor(message: string, room?: string) {
    super('SYMPHONY_ERR_INVALID_ARGUMENT', message, { room });
  }
}
