import type { IncomingMessage } from 'node:http';

/**
 * False for a browser request sent from another site. With `authorize` reading a session cookie,
 * the browser would attach the cookie to a form that another site posts to the dashboard (a
 * cross-site request forgery); the routes that change documents refuse such requests. Requests
 * without `Origin` (servers, curl) and the dashboard page's own requests pass.
 */
export function isSameOriginOrNotBrowser(request: IncomingMessage): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // `Origin: null` (sandboxed frames, some redirects) is not a site that may write.
    return false;
  }
  return host === request.headers.host;
}
