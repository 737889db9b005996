import type { IncomingMessage } from 'node:http';
import { ConfigurationError } from '../core/errors.js';
import { createJsonLogger, type Logger } from '../core/logger.js';
import { EmbeddedMetadataStore } from './metadata/embedded-store.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { positiveInteger } from '../util/config-checks.js';
import type { MetadataRecorderOptions } from './metadata/recorder.js';

/**
 * Decides whether a request may read the dashboard, e.g. from the host app's admin session.
 * `context` is the framework's own request object where it differs from Node's (Koa's `ctx`).
 */
export type DashboardAuthorize = (request: IncomingMessage, context: unknown) => boolean | Promise<boolean>;

/** Options of `createDashboard` and of the Express and Koa `dashboardRouter`s. */
export interface DashboardOptions {
  /**
   * The admin token: API requests must send `Authorization: Bearer <token>` (the page asks for it
   * once). At least one of `token` and `authorize` is required; a request is let in when it
   * carries the token or when `authorize` resolves to true.
   */
  token?: string;
  /** See `DashboardAuthorize`. A rejection or a throw counts as a refusal (401). */
  authorize?: DashboardAuthorize;
  /**
   * Where room and session history is kept; closed by the dashboard's `close()`.
   * @default new EmbeddedMetadataStore() (in memory, this node only)
   */
  metadata?: MetadataStore;
  /** How the metadata store is fed; see `MetadataRecorderOptions` for defaults. */
  recorder?: Omit<MetadataRecorderOptions, 'logger'>;
  /**
   * Directory of the built page. The page is never built at run time: without a built page the
   * dashboard answers 503 ("run `npm run build`") and its API still works.
   * @default the page the package ships (`dist/dashboard-ui/build`); in a source checkout, `dashboard-ui/build` (`npm run build:dashboard`)
   */
  uiDirectory?: string;
  /**
   * How often totals are sampled, in milliseconds: the resolution of messages per second, of
   * the page's live updates and of its chart.
   * @default 1_000
   */
  sampleIntervalMs?: number;
  /** Samples kept for the page's chart. @default 600 (ten minutes at one per second) */
  historySamples?: number;
  /**
   * Interval of heartbeat comments on the event stream, in milliseconds. Proxies and load
   * balancers close connections idle for 30–60 s; the heartbeat keeps a quiet stream open.
   * @default 15_000
   */
  eventStreamKeepAliveMs?: number;
  /** Room events kept so a page reconnecting with `Last-Event-ID` misses nothing. @default 1_000 */
  replayEvents?: number;
  /**
   * How long room changes are still tracked after the last event-stream client left, in
   * milliseconds, so a reconnect within it is replayed rather than reloaded.
   * @default 60_000
   */
  replayWindowMs?: number;
  /**
   * Bytes that may wait to be sent to one event-stream client; a slower client is disconnected
   * (it reconnects and catches up) rather than growing the server's memory.
   * @default 1_048_576
   */
  maxEventStreamBufferBytes?: number;
  /** Largest `limit` of `GET /api/rooms`. @default 500 */
  maxPageSize?: number;
  /** Sessions listed by `GET /api/rooms/:room`. @default 20 */
  recentSessions?: number;
  /**
   * Cluster mode: how long one read of the cluster-wide view (which node holds which room) serves
   * `GET /api/cluster` and the room details, in milliseconds. The registry answers it by scanning
   * its whole table, so pages polling it share one read per interval.
   * @default 2_000
   */
  clusterViewMaxAgeMs?: number;
  /**
   * Failed authentications one client address may have per `failedAuthenticationWindowMs`; after
   * that, the address is answered 429 without its credentials being checked until the window
   * ends. Enough for a person mistyping, far too few to guess a token.
   * @default 20
   */
  maxFailedAuthentications?: number;
  /** The window of `maxFailedAuthentications`, in milliseconds. @default 60_000 */
  failedAuthenticationWindowMs?: number;
  /** A pino-compatible logger. @default `createJsonLogger()`: level info on stderr, readable on a terminal, JSON lines otherwise */
  logger?: Logger;
}

export interface ResolvedDashboardOptions {
  readonly token: string | null;
  readonly authorize: DashboardAuthorize | null;
  readonly metadata: MetadataStore;
  readonly recorder: Omit<MetadataRecorderOptions, 'logger'>;
  readonly uiDirectory: string | null;
  readonly sampleIntervalMs: number;
  readonly historySamples: number;
  readonly eventStreamKeepAliveMs: number;
  readonly replayEvents: number;
  readonly replayWindowMs: number;
  readonly maxEventStreamBufferBytes: number;
  readonly maxPageSize: number;
  readonly recentSessions: number;
  readonly clusterViewMaxAgeMs: number;
  readonly maxFailedAuthentications: number;
  readonly failedAuthenticationWindowMs: number;
  readonly logger: Logger;
}

/** Applies defaults in one place and throws a `ConfigurationError` naming the first invalid option. */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  const { token, authorize } = options;
  if (token === undefined && authorize === undefined) {
    throw new ConfigurationError('the dashboard needs a "token" or an "authorize" function: it refuses to serve room data to anyone');
  }
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) throw new ConfigurationError('"token" must be a non-empty string');
  if (authorize !== undefined && typeof authorize !== 'function') throw new ConfigurationError('"authorize" must be a function');
  return {
    token: token ?? null,
    authorize: authorize ?? null,
    metadata: options.metadata ?? new EmbeddedMetadataStore(),
    recorder: options.recorder ?? {},
    uiDirectory: options.uiDirectory ?? null,
    sampleIntervalMs: positiveInteger('sampleIntervalMs', options.sampleIntervalMs ?? 1_000),
    historySamples: positiveInteger('historySamples', options.historySamples ?? 600),
    eventStreamKeepAliveMs: positiveInteger('eventStreamKeepAliveMs', options.eventStreamKeepAliveMs ?? 15_000),
    replayEvents: positiveInteger('replayEvents', options.replayEvents ?? 1_000),
    replayWindowMs: positiveInteger('replayWindowMs', options.replayWindowMs ?? 60_000),
    maxEventStreamBufferBytes: positiveInteger('maxEventStreamBufferBytes', options.maxEventStreamBufferBytes ?? 1_048_576),
    maxPageSize: positiveInteger('maxPageSize', options.maxPageSize ?? 500),
    recentSessions: positiveInteger('recentSessions', options.recentSessions ?? 20),
    clusterViewMaxAgeMs: positiveInteger('clusterViewMaxAgeMs', options.clusterViewMaxAgeMs ?? 2_000),
    maxFailedAuthentications: positiveInteger('maxFailedAuthentications', options.maxFailedAuthentications ?? 20),
    failedAuthenticationWindowMs: positiveInteger('failedAuthenticationWindowMs', options.failedAuthenticationWindowMs ?? 60_000),
    logger: options.logger ?? createJsonLogger(),
  };
}
