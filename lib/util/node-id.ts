import { ConfigurationError } from '../core/errors.js';

/** Longest node id, in bytes of UTF-8: ids travel in every cluster bus message and registry item. */
export const MAX_NODE_ID_BYTES = 255;

/**
 * Node ids never start with this character: the room registry keeps a room's writer lease in the
 * same partition as its holders, under a sort key that starts with it, so no node id can collide.
 */
export const RESERVED_NODE_ID_PREFIX = '#';

/** Throws a `ConfigurationError` (naming where the id came from) unless `nodeId` is a valid cluster node id. */
export function checkNodeId(nodeId: string, source: string): string {
  const bytes = Buffer.byteLength(nodeId, 'utf8');
  if (bytes === 0 || bytes > MAX_NODE_ID_BYTES || nodeId.startsWith(RESERVED_NODE_ID_PREFIX)) {
    throw new ConfigurationError(
      `${source} must be 1 to ${MAX_NODE_ID_BYTES} bytes and not start with "${RESERVED_NODE_ID_PREFIX}", got ${JSON.stringify(nodeId)}`,
    );
  }
  return nodeId;
}
