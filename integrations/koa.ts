import type { Context, Middleware } from 'koa';
import { ConfigurationError, createDashboard, isStreamingBody, type Dashboard, type DashboardOptions, type Symphony } from '../lib/index.js';
import { healthStatus } from './health.js';

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
