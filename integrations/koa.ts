import type { Middleware } from 'koa';
import type { Symphony } from '../lib/index.js';
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
