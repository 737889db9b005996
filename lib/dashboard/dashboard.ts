import { SymphonyError } from '../core/errors.js';
import { originAllowed } from '../core/http/origin-check.js';
import type { Logger } from '../core/logger.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { MetadataRecorder } from './metadata/recorder.js';
import type { Symphony } from '../core/symphony.js';
import { createAuthorizer, type AuthorizationVerdict } from './auth.js';
import { ClusterViewCache, type ClusterAnswer } from './cluster-view.js';
import { EventHub } from './event-stream.js';
import { BadRequestError, failure, json, type DashboardRequest, type DashboardResponse } from './http.js';
import { MetricsExporter } from './metrics.js';
import { resolveDashboardOptions, type DashboardOptions, type ResolvedDashboardOptions } from './options.js';
import { DashboardPage } from './page.js';
import { listRooms, parseRoomListParams } from './room-list.js';
import { readJsonBody } from './request-body.js';
import { decodeRoomName, disconnectFromRoom, roomDetails, roomDocument } from './room-routes.js';
import { StatsSampler, type DashboardStats } from './stats.js';

const sameOriginOnly: ReadonlySet<string> = new Set();
const unauthorized = failure(401, 'unauthorized', {}, { 'www-authenticate': 'Bearer realm="symphony-dashboard"' });
const tooManyFailures = (retryAfterSeconds: number) =>
  failure(429, 'too many failed authentications from this address; retry later', { retryAfterSeconds }, { 'retry-after': String(retryAfterSeconds) });

/**
 * The developer dashboard, independent of any web framework: `handle` answers one request under
 * the mount point (`integrations/express.ts` and `integrations/koa.ts` adapt it). Routes:
 *
 * | route                            | answer                                                     |
 * |----------------------------------|------------------------------------------------------------|
 * | `GET /`                          | the page (public: it holds no data and asks for the token) |
 * | `GET /api/rooms`                 | rooms, sorted, filtered by prefix, paginated               |
 * | `GET /api/rooms/:room`           | one room: connections, presence, recent sessions; in       |
 * |                                  | cluster mode also its `holders` and `writer`               |
 * | `GET /api/rooms/:room/document`  | the room's document as JSON                                |
 * | `POST /api/rooms/:room/disconnect` | closes the room's connections (or those of `{ userId }`, |
 * |                                  | `{ connectionId }`) with 4401; answers `{ closed: N }`     |
 * | `GET /api/events`                | Server-Sent Events (see `EventHub`)                        |
 * | `GET /api/stats`                 | totals (`DashboardStats`)                                  |
 * | `GET /api/cluster`               | `{ nodeId, readAt, cluster }`: which node holds which room |
 * |                                  | (`ClusterView`), null on a single node                     |
 * | `GET /metrics`                   | the totals in Prometheus' text format                      |
 *
 * Everything but the page needs the admin token or `authorize`'s consent, else 401; an address
 * with `maxFailedAuthentications` refusals in a window gets 429 until the window ends.
 */
export class Dashboard {
  readonly metadata: MetadataStore;
  readonly recorder: MetadataRecorder;
  private readonly options: ResolvedDashboardOptions;
  private readonly logger: Logger;
  private readonly authorizeRequest: (request: DashboardRequest) => Promise<AuthorizationVerdict>;
  private readonly sampler: StatsSampler;
  private readonly hub: EventHub;
  private readonly page: DashboardPage;
  private readonly metrics: MetricsExporter;
  private readonly clusterView: ClusterViewCache;
  private closing: Promise<void> | null = null;

  constructor(
    readonly symphony: Symphony,
    options: DashboardOptions,
  ) {
    this.options = resolveDashboardOptions(options);
    this.logger = this.options.logger;
    this.metadata = this.options.metadata;
    this.authorizeRequest = createAuthorizer({
      token: this.options.token,
      authorize: this.options.authorize,
      maxFailedAuthentications: this.options.maxFailedAuthentications,
      failedAuthenticationWindowMs: this.options.failedAuthenticationWindowMs,
      logger: this.logger,
    });
    this.recorder = new MetadataRecorder(symphony, this.metadata, { ...this.options.recorder, logger: this.logger });
    this.sampler = new StatsSampler(symphony, this.recorder, () => this.hub.clientCount, this.options.sampleIntervalMs, this.options.historySamples);
    this.hub = new EventHub(
      symphony,
      this.sampler,
      {
        eventStreamKeepAliveMs: this.options.eventStreamKeepAliveMs,
        replayEvents: this.options.replayEvents,
        replayWindowMs: this.options.replayWindowMs,
        maxBufferedBytes: this.options.maxEventStreamBufferBytes,
      },
      this.logger,
    );
    this.page = new DashboardPage(this.options.uiDirectory, this.logger);
    this.metrics = new MetricsExporter(symphony.nodeId, () => this.stats());
    this.clusterView = new ClusterViewCache(symphony, this.options.clusterViewMaxAgeMs);
  }

  /** The latest sample: totals, rates per second and the recorder's state. */
  stats(): DashboardStats {
    return this.sampler.current();
  }

  /** Answers one request (the adapters call it); failures become JSON error responses, never throws. */
  async handle(request: DashboardRequest): Promise<DashboardResponse> {
    try {
      return await this.route(request);
    } catch (error) {
      if (error instanceof BadRequestError || (error instanceof SymphonyError && error.code === 'SYMPHONY_ERR_ROOM_NAME')) {
        return failure(400, error.message);
      }
      if (error instanceof SymphonyError && error.code === 'SYMPHONY_ERR_ROOM_LOAD') {
        return failure(503, error.message, { room: error.room });
      }
      this.logger.error({ err: error, method: request.method, path: request.path }, 'dashboard request failed');
      return failure(500, 'internal error');
    }
  }

  /** Stops the streams and timers, flushes the recorder and closes the metadata store. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.hub.close();
      this.sampler.close();
      await this.recorder.close();
      await this.metadata.close();
    })();
    return this.closing;
  }

  private async route(request: DashboardRequest): Promise<DashboardResponse> {
    const { path } = request;
    if (request.method === 'POST') return this.routeAction(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') return failure(405, 'method not allowed', {}, { allow: 'GET, HEAD' });
    // Relative links on the page (`api/rooms`) need the trailing slash.
    if (path === '') return { status: 308, headers: { location: `${request.originalPath}/` }, body: '' };
    const isApi = path === '/api' || path.startsWith('/api/');
    if (!isApi && path !== '/metrics') {
      return (await this.page.serve(path, header(request, 'if-none-match'))) ?? failure(404, 'not found');
    }
    const refusal = await this.refusal(request);
    if (refusal) return refusal;
    if (path === '/metrics') return this.renderMetrics();

    const segments = path.split('/').slice(2);
    switch (segments[0]) {
      case 'rooms':
        if (segments.length === 1) return json(200, await listRooms(this.symphony, this.metadata, parseRoomListParams(request.query, this.options.maxPageSize), this.logger));
        if (segments.length === 2) return roomDetails(this.symphony, this.metadata, this.clusterView, decodeRoomName(segments[1]), this.options.recentSessions);
        if (segments.length === 3 && segments[2] === 'document') return roomDocument(this.symphony, decodeRoomName(segments[1]));
        break;
      case 'events':
        if (segments.length === 1) {
          if (request.method !== 'GET') return failure(405, 'method not allowed', {}, { allow: 'GET' });
          return {
            status: 200,
            headers: {
              'content-type': 'text/event-stream; charset=utf-8',
              'cache-control': 'no-store, no-transform',
              // nginx buffers proxied responses by default, which would hold events back.
              'x-accel-buffering': 'no',
            },
            body: this.hub.body(header(request, 'last-event-id')),
          };
        }
        break;
      case 'stats':
        if (segments.length === 1) return json(200, this.stats());
        break;
      case 'cluster':
        if (segments.length === 1) return this.renderCluster();
        break;
    }
    return failure(404, 'not found');
  }

  /** The routes that change something: POST, and never from a page of another site. */
  private async routeAction(request: DashboardRequest): Promise<DashboardResponse> {
    const segments = request.path.split('/').slice(1);
    const isDisconnect = segments.length === 4 && segments[0] === 'api' && segments[1] === 'rooms' && segments[3] === 'disconnect';
    if (!isDisconnect) return failure(405, 'method not allowed', {}, { allow: 'GET, HEAD' });
    // With cookie-based `authorize`, a form on another site could post here with the admin's cookies.
    if (!originAllowed(request.raw, sameOriginOnly)) return failure(403, 'cross-origin request refused');
    const refusal = await this.refusal(request);
    if (refusal) return refusal;
    return disconnectFromRoom(this.symphony, decodeRoomName(segments[2]), await readJsonBody(request));
  }

  /** The answer to a request without the admin's credentials (401, or 429 after too many failures), or null to serve it. */
  private async refusal(request: DashboardRequest): Promise<DashboardResponse | null> {
    const verdict = await this.authorizeRequest(request);
    if (verdict.kind === 'rate-limited') return tooManyFailures(verdict.retryAfterSeconds);
    return verdict.kind === 'refused' ? unauthorized : null;
  }

  private async renderCluster(): Promise<DashboardResponse> {
    const { nodeId } = this.symphony;
    try {
      const { readAt, view } = await this.clusterView.get();
      const answer: ClusterAnswer = { nodeId, readAt, cluster: view };
      return json(200, answer);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ err: error }, 'the cluster view is unavailable: the registry could not be read');
      return failure(503, `the cluster registry could not be read: ${message}`, { nodeId });
    }
  }

  private async renderMetrics(): Promise<DashboardResponse> {
    try {
      const { contentType, body } = await this.metrics.render();
      return { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body };
    } catch (error) {
      this.logger.error({ err: error }, 'metrics unavailable: is prom-client installed?');
      return failure(501, 'metrics need the prom-client package (npm install prom-client)');
    }
  }
}

function header(request: DashboardRequest, name: string): string | undefined {
  const value = request.raw.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The dashboard for one Symphony instance; mount it with `dashboardRouter` from `symphony-collab/express` or `symphony-collab/koa`. */
export function createDashboard(symphony: Symphony, options: DashboardOptions): Dashboard {
  return new Dashboard(symphony, options);
}
