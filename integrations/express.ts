/**
 * Express adapters: the health route and the developer dashboard's router.
 * @module symphony-collab/express
 */
// Our declarations name Node's types (http, streams, events, Buffer); the reference keeps them
// self-contained for apps whose tsconfig lists no "types" (TypeScript 6 and later include none by default).
/// <reference types="node" preserve="true" />
import type { Request, RequestHandler, Response } from 'express';
import { createDashboard, isStreamingBody, type Dashboard, type DashboardOptions, type Symphony } from '../lib/index.js';
import { healthStatus } from './health.js';

/**
 * `GET /healthz` for load balancers: 200 while Symphony accepts connections, 503 once it shuts
 * down, so the balancer stops routing new users to a node that is draining.
 */
export function healthHandler(symphony: Symphony): (request: Request, response: Response) => void {
  return (_request, response) => {
    const { status, body } = healthStatus(symphony);
    response.status(status).json(body);
  };
}

/** Options of the Express dashboard router: `DashboardOptions`, with `authorize` given Express' request. */
export type ExpressDashboardOptions = Omit<DashboardOptions, 'authorize'> & {
  /**
   * Decides whether a request may read the dashboard, with whatever the app's middleware put on
   * the request (`request.session`, `request.user`). See `DashboardOptions.token`.
   */
  authorize?: (request: Request) => boolean | Promise<boolean>;
};

/** Express middleware serving the dashboard; `close()` stops its timers, streams and recorder. */
export interface DashboardRouter extends RequestHandler {
  readonly dashboard: Dashboard;
  /** Flushes the metadata recorder and stops the dashboard's timers and event streams. */
  close(): Promise<void>;
}

/**
 * The developer dashboard (page, REST API, event stream, Prometheus metrics) as Express
 * middleware. Mount it under a path of your choice:
 *
 *     app.use('/admin', dashboardRouter(symphony, { token: process.env.SYMPHONY_ADMIN_TOKEN }));
 *
 * Throws a `ConfigurationError` without a `token` or an `authorize` function.
 */
export function dashboardRouter(symphony: Symphony, options: ExpressDashboardOptions): DashboardRouter {
  const { authorize, ...rest } = options;
  const dashboard = createDashboard(symphony, authorize ? { ...rest, authorize: (request) => authorize(request as Request) } : rest);
  const handler: RequestHandler = (request, response, next) => {
    // Express strips the mount path from `url` and keeps the full one in `originalUrl`. Both are
    // split by hand: `new URL()` would resolve a room named `..` (`%2E%2E`) as a parent directory.
    const queryAt = request.url.indexOf('?');
    const pathname = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
    const search = queryAt === -1 ? '' : request.url.slice(queryAt + 1);
    const originalPath = request.originalUrl.split('?', 1)[0];
    const path = pathname === '/' && !originalPath.endsWith('/') ? '' : pathname;
    dashboard
      .handle({
        method: request.method,
        path,
        originalPath,
        query: new URLSearchParams(search),
        raw: request,
        context: request,
        parsedBody: (request as { body?: unknown }).body,
        clientAddress: request.ip,
      })
      .then((answer) => {
        response.writeHead(answer.status, answer.headers);
        if (isStreamingBody(answer.body)) {
          response.flushHeaders();
          answer.body.open(response, response);
        } else {
          response.end(answer.body);
        }
      })
      .catch(next);
  };
  return Object.assign(handler, { dashboard, close: () => dashboard.close() });
}
