/**
 * Koa adapters: `createKoaServer` (an HTTP server for a Koa app that cannot be misordered), the health
 * middleware and the developer dashboard's middleware.
 * @module symphony-collab/koa
 */
// Our declarations name Node's types (http, streams, events, Buffer); the reference keeps them
// self-contained for apps whose tsconfig lists no "types" (TypeScript 6 and later include none by default).
/// <reference types="node" preserve="true" />
import { createServer, type Server, type ServerOptions } from 'node:http';
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import { ConfigurationError, createDashboard, isStreamingBody, type Dashboard, type DashboardOptions, type Symphony } from '../lib/index.js';
import { healthStatus } from './health.js';

/**
 * The HTTP server for a Koa app, to pass to `attachSymphony`. Use it instead of `app.listen()`:
 *
 *     const app = new Koa();
 *     const server = createKoaServer(app);
 *     const symphony = attachSymphony(server);
 *     app.use(healthMiddleware(symphony));
 *     app.use(dashboardRouter(symphony, { token }));
 *     server.listen(3000);
 *
 * Koa copies its middleware list when it builds its request handler (`app.callback()`, which
 * `app.listen()` calls), so middleware added after `app.listen()` is never reached. This server
 * rebuilds the handler whenever the list has grown since the last request, so the order of
 * `app.use()` and `listen()` does not matter.
 */
export function createKoaServer(app: Koa, options: ServerOptions = {}): Server {
  let handler = app.callback();
  let composedCount = app.middleware.length;
  return createServer(options, (request, response) => {
    if (app.middleware.length !== composedCount) {
      handler = app.callback();
      composedCount = app.middleware.length;
    }
    return handler(request, response);
  });
}

/**
 * Koa middleware answering `GET <path>` (default `/healthz`) for load balancers: 200 while
 * Symphony accepts connections, 503 once it shuts down.
 */
export function healthMiddleware(symphony: Symphony, path = '/healthz'): Middleware {
  return async (context, next) => {
    if (context.method !== 'GET' || context.path !== path) return next();
    const { status, body } = healthStatus(symphony);
    context.status = status;
    context.body = body;
  };
}

/** Options of the Koa dashboard middleware: `DashboardOptions`, a prefix, and `authorize` given Koa's context. */
export type KoaDashboardOptions = Omit<DashboardOptions, 'authorize'> & {
  /**
   * Path the dashboard answers under; other requests pass to the next middleware. Use `''` when
   * a mounting middleware (koa-mount) already strips the prefix.
   * @default '/admin'
   */
  prefix?: string;
  /**
   * Decides whether a request may read the dashboard, with the context the app's middleware
   * prepared (`ctx.session`, `ctx.state.user`). See `DashboardOptions.token`.
   */
  authorize?: (context: Context) => boolean | Promise<boolean>;
};

/** Koa middleware serving the dashboard; `close()` stops its timers, streams and recorder. */
export interface DashboardMiddleware extends Middleware {
  readonly dashboard: Dashboard;
  /** Flushes the metadata recorder and stops the dashboard's timers and event streams. */
  close(): Promise<void>;
}

/**
 * The developer dashboard (page, REST API, event stream, Prometheus metrics) as Koa middleware:
 *
 *     app.use(dashboardRouter(symphony, { prefix: '/admin', token: process.env.SYMPHONY_ADMIN_TOKEN }));
 *
 * Throws a `ConfigurationError` without a `token` or an `authorize` function.
 */
export function dashboardRouter(symphony: Symphony, options: KoaDashboardOptions): DashboardMiddleware {
  const { authorize, prefix = '/admin', ...rest } = options;
  if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/')))) {
    throw new ConfigurationError(`"prefix" must be empty or start with "/" and not end with "/", got ${JSON.stringify(prefix)}`);
  }
  const dashboard = createDashboard(symphony, authorize ? { ...rest, authorize: (_request, context) => authorize(context as Context) } : rest);
  const middleware: Middleware = async (context, next) => {
    const pathname = context.path;
    let path: string;
    if (pathname === prefix) path = '';
    else if (pathname.startsWith(`${prefix}/`)) path = pathname.slice(prefix.length);
    else return next();
    const answer = await dashboard.handle({
      method: context.method,
      path,
      originalPath: pathname,
      query: new URLSearchParams(context.querystring),
      raw: context.req,
      context,
      parsedBody: (context.request as { body?: unknown }).body,
      clientAddress: context.ip,
    });
    context.status = answer.status;
    context.set(answer.headers);
    if (isStreamingBody(answer.body)) {
      // An event stream ends when the client leaves; Koa would report that as a stream error
      // ("premature close"), so the stream is written to Node's response directly.
      context.respond = false;
      context.res.flushHeaders();
      answer.body.open(context.res, context.res);
    } else {
      context.body = answer.body;
    }
  };
  return Object.assign(middleware, { dashboard, close: () => dashboard.close() });
}
