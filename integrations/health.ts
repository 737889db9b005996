import type { Symphony } from '../lib/index.js';

/** The framework-agnostic answer of a health route. */
export function healthStatus(symphony: Symphony): { status: 200 | 503; body: { status: 'ok' | 'shutting down'; nodeId: string } } {
  return symphony.accepting
    ? { status: 200, body: { status: 'ok', nodeId: symphony.nodeId } }
    : { status: 503, body: { status: 'shutting down', nodeId: symphony.nodeId } };
}
