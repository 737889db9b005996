import type { IncomingMessage } from 'node:http';

/**
 * The address of the client behind a request. With `trustedProxyHops` 0 it is the TCP peer. Behind
 * N trusted proxies, each proxy appends the address it received from to `X-Forwarded-For`, so the
 * client is the N-th entry from the right: entries further left were written by the client itself
 * and prove nothing. A header shorter than that yields its leftmost entry.
 */
export function clientAddress(request: IncomingMessage, trustedProxyHops: number): string | undefined {
  const peer = request.socket.remoteAddress;
  if (trustedProxyHops === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (forwarded.length === 0) return peer;
  return forwarded[Math.max(0, forwarded.length - trustedProxyHops)];
}
