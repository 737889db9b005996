import { SymphonyError } from '../core/errors.js';
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
import { readJsonBody, PayloadTooLargeError, UnreadableBodyError } from './request-body.js';
import { readRoomUpdate, writeRoomUpdate } from './document-routes.js';
import { isSameOriginOrNotBrowser } from './same-origin.js';
import { decodeRoomName, disconnectFromRoom, roomDetails, roomDocument } from './room-routes.js';
import { createRoomVersion, decodeVersionId, listRoomVersions, restoreRoomVersion, versionDocument } from './version-routes.js';
import { StatsSampler, type DashboardStats } from './stats.js';

const unauthorized = failure(401, 'unauthorized', {}, { 'www-authenticate': 'Bearer realm="symphony-dashboard"' });
const tooManyFailures = (retryAfterSeconds: number) =>
  failure(429, 'too many failed authentications from this address; retry later', { retryAfterSeconds }, { 'retry-after': String(retryAfterSeconds) });

/**
 * The developer dashboard, independent of any web framework: `handle` answers one request under
 * the mount point (`integrations/express.ts` and `integrations/koa.ts` adapt it). Routes:
 *
 * | route                                        | answer                                         |
 * |----------------------------------------------|------------------------------------------------|
 * | `GET /`                                      | the page (public: it holds no data)            |
 * | `GET /api/rooms`                             | rooms (loaded, recorded, stored), sorted,      |
 * |                                              | filtered by prefix, paginated                  |
 * | `GET /api/rooms/:room`                       | one room: connections, presence, sessions; in  |
 * |                                              | cluster mode also its `holders` and `writer`   |
 * | `DELETE /api/rooms/:room`                    | deletes the room everywhere: 204               |
 * | `POST /api/rooms/:room/disconnect`           | closes the room's connections (or those of     |
 * |                                              | `{ userId }`, `{ connectionId }`) with 4401    |
 * | `GET /api/rooms/:room/document`              | the room's document as JSON                    |
 * | `GET /api/rooms/:room/update`                | the document as one Yjs update (binary)        |
 * | `POST /api/rooms/:room/update`               | applies a Yjs update: 204                      |
 * | `GET, POST /api/rooms/:room/versions`        | lists versions / creates one (201)             |
 * | `GET /api/rooms/:room/versions/:id/document` | a version's content as JSON                    |
 * | `POST /api/rooms/:room/versions/:id/restore` | restores a version as a forward change         |
 * | `GET /api/events`                            | Server-Sent Events (see `EventHub`)            |
 * | `GET /api/stats`                             | totals (`DashboardStats`)                      |
 * | `GET /api/cluster`                           | `{ nodeId, readAt, cluster }`: which node      |
 * |                                              | holds which room, null on a single node        |
 * | `GET /api/webhooks`                          | endpoints, delivery totals, recent deliveries  |
 * | `GET /metrics`                               | the totals in Prometheus' text format          |
 *
 * Errors are JSON `{ error, code, ...context }` (see `failure`).
 * Everything but the page needs the admin token or `authorize`'s consent, else 401; an address
 * with `maxFailedAuthentications` refusals in a window gets 429 until the window ends. Requests
 * that change something are refused (403) from pages of other sites.
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
      if (error instanceof BadRequestError || (error instanceof SymphonyError && (error.code === 'SYMPHONY_ERR_ROOM_NAME' || error.code === 'SYMPHONY_ERR_INVALID_ARGUMENT'))) {
        return failure(400, error.message);
      }
      if (error instanceof PayloadTooLargeError) {
        // The rest of the body is not read: the connection closes after the answer.
        return failure(413, error.message, { maxBytes: error.maxBytes }, { connection: 'close' });
      }
      if (error instanceof UnreadableBodyError) return failure(error.status, error.message);
      if (error instanceof SymphonyError && error.code === 'SYMPHONY_ERR_UNSUPPORTED') {
        // A configuration without the feature (version history without a version store): not a server fault.
        return failure(501, error.message, error.room === undefined ? {} : { room: error.room });
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
    const { path, method } = request;
    const isApi = path === '/api' || path.startsWith('/api/');
    if (!isApi && method !== 'GET' && method !== 'HEAD') return notAllowed(readOnly);
    // Relative links on the page (`api/rooms`) need the trailing slash.
    if (path === '') return { status: 308, headers: { location: `${request.originalPath}/` }, body: '' };
    if (!isApi && path !== '/metrics') {
      return (await this.page.serve(path, header(request, 'if-none-match'))) ?? failure(404, 'not found');
    }
    const refusal = await this.refusal(request);
    if (refusal) return refusal;
    if (path === '/metrics') return this.renderMetrics();
    if (method !== 'GET' && method !== 'HEAD' && !isSameOriginOrNotBrowser(request.raw)) {
      return failure(403, 'cross-site requests may not change documents', { code: 'cross_site_request' });
    }
    const segments = path.split('/').slice(2);
    if (segments[0] === 'rooms' && segments.length >= 2) return this.routeRoom(request, decodeRoomName(segments[1]), segments.slice(2));
    if (method !== 'GET' && method !== 'HEAD') return segments.length === 1 && knownCollections.has(segments[0]) ? notAllowed(readOnly) : failure(404, 'not found');
    switch (segments.length === 1 ? segments[0] : '') {
      case 'rooms':
        return json(200, await listRooms(this.symphony, this.metadata, parseRoomListParams(request.query, this.options.maxPageSize), this.logger));
      case 'events':
        if (method !== 'GET') return notAllowed(['GET']);
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
      case 'stats':
        return json(200, this.stats());
      case 'cluster':
        return this.renderCluster();
      case 'webhooks':
        return json(200, this.symphony.webhooks());
    }
    return failure(404, 'not found');
  }

  /** `/api/rooms/:room/…`: what one room offers, each path with the methods it allows. */
  private async routeRoom(request: DashboardRequest, room: string, rest: readonly string[]): Promise<DashboardResponse> {
    const { method } = request;
    const reading = method === 'GET' || method === 'HEAD';
    const route = rest.join('/');
    if (route === '') {
      if (reading) return roomDetails(this.symphony, this.metadata, this.clusterView, room, this.options.recentSessions);
      if (method === 'DELETE') return this.deleteRoom(room);
      return notAllowed([...readOnly, 'DELETE']);
    }
    if (route === 'document') return reading ? roomDocument(this.symphony, room) : notAllowed(readOnly);
    if (route === 'disconnect') return method === 'POST' ? disconnectFromRoom(this.symphony, room, await readJsonBody(request)) : notAllowed(['POST']);
    if (route === 'update') {
      if (reading) return readRoomUpdate(this.symphony, room, request.query);
      if (method === 'POST') return writeRoomUpdate(this.symphony, request, room);
      return notAllowed([...readOnly, 'POST']);
    }
    if (route === 'versions') {
      if (reading) return listRoomVersions(this.symphony, room);
      if (method === 'POST') return createRoomVersion(this.symphony, request, room);
      return notAllowed([...readOnly, 'POST']);
    }
    if (rest.length === 3 && rest[0] === 'versions') {
      const id = decodeVersionId(rest[1]);
      if (rest[2] === 'document') return reading ? versionDocument(this.symphony, room, id) : notAllowed(readOnly);
      if (rest[2] === 'restore') return method === 'POST' ? restoreRoomVersion(this.symphony, request, room, id) : notAllowed(['POST']);
    }
    return failure(404, 'not found');
  }

  /** `DELETE /api/rooms/:room`: 204 once the room, its journal and versions are gone everywhere; 404 if nothing existed. */
  private async deleteRoom(room: string): Promise<DashboardResponse> {
    const existed = await this.symphony.deleteRoom(room);
    if (!existed) return failure(404, 'room not found', { code: 'room_not_found', room });
    this.logger.info({ room }, 'room deleted through the dashboard API');
    return { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };
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

const readOnly = ['GET', 'HEAD'];
/** Paths under `/api/` that answer GET only. */
const knownCollections = new Set(['rooms', 'events', 'stats', 'cluster', 'webhooks']);

function notAllowed(methods: readonly string[]): DashboardResponse {
  return failure(405, 'method not allowed', {}, { allow: methods.join(', ') });
}

function header(request: DashboardRequest, name: string): string | undefined {
  const value = request.raw.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The dashboard for one Symphony instance; mount it with `dashboardRouter` from `symphony-collab/express` or `symphony-collab/koa`. */
export function createDashboard(symphony: Symphony, options: DashboardOptions): Dashboard {
  return new Dashboard(symphony, options);
}
