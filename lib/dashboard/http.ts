import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';

/** A request as the framework adapters hand it to the dashboard. */
export interface DashboardRequest {
  readonly method: string;
  /**
   * The path below the mount point, percent-encoded as received, starting with `/`; empty when
   * the mount point itself was requested without its trailing slash.
   */
  readonly path: string;
  /** The full path the client requested, for redirects. */
  readonly originalPath: string;
  readonly query: URLSearchParams;
  readonly raw: IncomingMessage;
  /**
   * The client's address as the host framework sees it (Express `request.ip`, Koa `ctx.ip`: both
   * honour the app's trust-proxy setting, so behind a load balancer they name the real client).
   * Failed authentications are counted per address. @default the socket's remote address
   */
  readonly clientAddress?: string;
  /** The framework's own request object (Koa's `ctx`), passed to `authorize`. */
  readonly context: unknown;
  /** The body, when the host app's middleware already parsed it (`request.body`); undefined otherwise. */
  readonly parsedBody?: unknown;
}

/** A long-lived body: the adapter hands it the writable to stream into and the response to watch for closing. */
export interface StreamingBody {
  /** Starts writing to `target`; stops when `response` closes. */
  open(target: Writable, response: ServerResponse): void;
}

/** A framework-neutral response, which the Express and Koa adapters write out. */
export interface DashboardResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer | StreamingBody;
}

/** True for an event stream, which an adapter must hand the socket to instead of sending a body. */
export function isStreamingBody(body: DashboardResponse['body']): body is StreamingBody {
  return typeof body === 'object' && !Buffer.isBuffer(body);
}

const apiHeaders = {
  'content-type': 'application/json; charset=utf-8',
  // Room data is live and private: never cached by a browser or a proxy.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(status: number, body: unknown, headers: Record<string, string> = {}): DashboardResponse {
  return { status, headers: { ...apiHeaders, ...headers }, body: JSON.stringify(body) };
}

/** The `code` of an error answer whose route gives none more precise. */
const codesByStatus: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  500: 'internal_error',
  501: 'not_implemented',
  503: 'unavailable',
};

/**
 * An error answer, the one shape every route uses: `{ "error": <message for people>, "code":
 * <stable snake_case code for programs>, ...context }` (e.g. `room`). `details.code` overrides the
 * code the status implies.
 */
export function failure(status: number, error: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}): DashboardResponse {
  return json(status, { error, code: codesByStatus[status] ?? 'error', ...details }, headers);
}

/** A request the route cannot serve as asked (a bad parameter): answered 400 with its message. */
export class BadRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}
