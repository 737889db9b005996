import type { IncomingMessage } from 'node:http';
import { originAllowed } from '../core/http/origin-check.js';

/** No origin is allowed besides the request's own host. */
const sameOriginOnly: ReadonlySet<string> = new Set();

/**
 * False for a browser request sent from another site. With `authorize` reading a session cookie,
 * the browser would attach the cookie to a form that another site posts to the dashboard (a
 * cross-site request forgery); the routes that change something refuse such requests. Requests
 * without `Origin` (servers, curl) and the dashboard page's own requests pass. The origin rule is
 * the WebSocket handshake's (`originAllowed`), with no other origin allowed.
 */
export function isSameOriginOrNotBrowser(request: IncomingMessage): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return false;
  return originAllowed(request, sameOriginOnly);
}
