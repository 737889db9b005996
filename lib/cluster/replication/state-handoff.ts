import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SymphonyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { bearerToken, secretsMatch } from '../../util/bearer-token.js';
import { RateLimiter } from '../../util/rate-limiter.js';

/** The internal route peers fetch a room's state from: `GET /_symphony/rooms/<room>/state`. */
export const STATE_ROUTE_PREFIX = '/_symphony/rooms/';
const STATE_ROUTE_SUFFIX = '/state';
/** Response header carrying the log position the returned state covers. */
export const LOG_POSITION_HEADER = 'x-symphony-log-position';

/**
 * Wrong secrets one address may present per `FAILED_SECRET_WINDOW_MS`; after that it is answered
 * 429 without its secret being checked. A peer with a wrong secret is misconfigured and fails
 * either way; anyone else is guessing, and the route may be reachable from outside.
 */
export const MAX_FAILED_SECRETS_PER_ADDRESS = 10;
export const FAILED_SECRET_WINDOW_MS = 60_000;
/** At most one log line per interval about refused secrets, however many there were. */
export const REFUSED_SECRET_LOG_INTERVAL_MS = 60_000;

/** A room's state as one node hands it to another. */
export interface RoomSnapshot {
  readonly state: Uint8Array;
  /** Every entry of the room's log up to this sequence number is in `state`. */
  readonly logPosition: number;
}

/** Whether an `Authorization` header carries the cluster's shared secret as a bearer token. */
export function secretMatches(header: string | undefined, secret: string): boolean {
  return secretsMatch(bearerToken(header), secret);
}

function roomOfPath(url: string | undefined): string | null | undefined {
  const path = (url ?? '').split('?', 1)[0];
  if (!path.startsWith(STATE_ROUTE_PREFIX)) return undefined;
  if (!path.endsWith(STATE_ROUTE_SUFFIX)) return null;
  try {
    const room = decodeURIComponent(path.slice(STATE_ROUTE_PREFIX.length, -STATE_ROUTE_SUFFIX.length));
    return room.length > 0 ? room : null;
  } catch {
    return null;
  }
}

interface StateRouteOptions {
  readonly secret: string;
  readonly logger: Logger;
  /** The room's state, or null when this node does not hold it (loaded and live). */
  readonly snapshot: (room: string) => RoomSnapshot | null;
  /** Whether this node holds the room, loaded and live. */
  readonly holds: (room: string) => boolean;
}

/**
 * Serves the internal state route on the host app's own HTTP server, ahead of the app's request
 * handlers: the `request` listeners registered so far are wrapped (as engine.io's `attach` does),
 * so the app never sees these requests and needs no route for them. Returns a function that
 * restores the original listeners.
 */
export function serveRoomState(
  server: Server,
  options: StateRouteOptions,
): () => void {
  const original = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const guard = new SecretGuard(options.logger);
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const room = roomOfPath(request.url);
    if (room === undefined) {
      for (const handler of original) handler.call(server, request, response);
      return;
    }
    respond(request, response, room, guard, options);
  };
  server.on('request', listener);
  return () => {
    server.off('request', listener);
    for (const handler of original) server.on('request', handler);
  };
}

/** Counts wrong secrets per address, refuses addresses over the limit, and logs refusals once per interval. */
class SecretGuard {
  private readonly failures = new RateLimiter({ limit: MAX_FAILED_SECRETS_PER_ADDRESS, windowMs: FAILED_SECRET_WINDOW_MS });
  private refusedSinceLog = 0;
  private lastLogAt = -Infinity;

  constructor(private readonly logger: Logger) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfterSeconds(address: string): number {
    if (!this.failures.isLimited(address)) return 0;
    this.refused(address, 'rate-limited');
    return Math.max(1, Math.ceil(this.failures.retryAfterMs(address) / 1_000));
  }

  wrongSecret(address: string): void {
    this.failures.hit(address);
    this.refused(address, 'wrong secret');
  }

  private refused(address: string, why: string): void {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLogAt < REFUSED_SECRET_LOG_INTERVAL_MS) return;
    this.logger.warn(
      { remoteAddress: address, reason: why, refused: this.refusedSinceLog, intervalMs: REFUSED_SECRET_LOG_INTERVAL_MS },
      'refused state requests without the cluster secret (logged once per interval)',
    );
    this.refusedSinceLog = 0;
    this.lastLogAt = now;
  }
}

function respond(
  request: IncomingMessage,
  response: ServerResponse,
  room: string | null,
  guard: SecretGuard,
  options: StateRouteOptions,
): void {
  const end = (status: number, message: string, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    response.end(message);
  };
  const address = request.socket.remoteAddress ?? 'unknown';
  const retryAfterSeconds = guard.retryAfterSeconds(address);
  if (retryAfterSeconds > 0) return end(429, 'too many wrong secrets', { 'retry-after': String(retryAfterSeconds) });
  if (!secretMatches(request.headers.authorization, options.secret)) {
    guard.wrongSecret(address);
    return end(401, 'unauthorized');
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') return end(405, 'method not allowed');
  if (room === null) return end(404, 'not found');
  if (request.method === 'HEAD') {
    // A liveness probe (see `holdsRoom`): whether this node holds the room, without its state.
    response.writeHead(options.holds(room) ? 200 : 404, { 'cache-control': 'no-store' });
    response.end();
    return;
  }
  const snapshot = options.snapshot(room);
  if (!snapshot) return end(404, 'room not held by this node');
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': snapshot.state.byteLength,
    'cache-control': 'no-store',
    [LOG_POSITION_HEADER]: String(snapshot.logPosition),
  });
  response.end(snapshot.state);
}

/** A peer did not hand a room over (refused, timed out, or sent an unusable answer); the next holder is tried. */
export class StateHandoffError extends SymphonyError {
  declare readonly room: string;

  constructor(
    /** The peer's state URL. */
    readonly url: string,
    room: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super('SYMPHONY_ERR_STATE_HANDOFF', `fetching room "${room}" from ${url} failed: ${reason}`, { room, cause: options.cause });
  }
}

/**
 * Fetches a room's state from a peer. Resolves to null when the peer does not hold the room (any
 * more); rejects with a `StateHandoffError` on any other failure, including the timeout.
 */
export async function fetchRoomState(peerUrl: string, room: string, secret: string, timeoutMs: number): Promise<RoomSnapshot | null> {
  const url = `${peerUrl.replace(/\/+$/, '')}${STATE_ROUTE_PREFIX}${encodeURIComponent(room)}${STATE_ROUTE_SUFFIX}`;
  let response: Response;
  let body: ArrayBuffer;
  try {
    // One signal for the whole exchange: a peer that sends headers and then stalls the body also times out.
    const signal = AbortSignal.timeout(timeoutMs);
    response = await fetch(url, { headers: { authorization: `Bearer ${secret}` }, signal });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new StateHandoffError(peerUrl, room, `HTTP ${response.status}`);
    }
    body = await response.arrayBuffer();
  } catch (error) {
    if (error instanceof StateHandoffError) throw error;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    throw new StateHandoffError(peerUrl, room, reason, { cause: error });
  }
  const logPosition = Number(response.headers.get(LOG_POSITION_HEADER));
  if (!Number.isSafeInteger(logPosition) || logPosition < 0) {
    throw new StateHandoffError(peerUrl, room, `missing or invalid ${LOG_POSITION_HEADER} header`);
  }
  return { state: new Uint8Array(body), logPosition };
}

/**
 * Whether the node at `peerUrl` answers that it holds the room (a `HEAD` on the state route):
 * proof that a writer the registry still lists is alive. False on any failure, including the timeout.
 */
export async function holdsRoom(peerUrl: string, room: string, secret: string, timeoutMs: number): Promise<boolean> {
  const url = `${peerUrl.replace(/\/+$/, '')}${STATE_ROUTE_PREFIX}${encodeURIComponent(room)}${STATE_ROUTE_SUFFIX}`;
  try {
    const response = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(timeoutMs) });
    return response.status === 200;
  } catch {
    return false;
  }
}
