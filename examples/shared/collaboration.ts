import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { attachSymphony, ConfigurationError, FileStore, isClusterConfigured, PostgresMetadataStore, type Logger, type Symphony } from '../../lib/index.js';
import { allowedOrigins, dataDirectory, webhooksFromEnvironment } from './environment.js';

export interface Collaboration {
  readonly symphony: Symphony;
  /** The dashboard's bearer token: `SYMPHONY_ADMIN_TOKEN`, or (on a single node) one made up at start and logged once. */
  readonly adminToken: string;
  /** Postgres for the dashboard's history when `DATABASE_URL` is set; the embedded store otherwise. */
  readonly metadata: PostgresMetadataStore | undefined;
}

/**
 * Attaches Symphony to the example's HTTP server, configured from the environment. With the
 * cluster variables set (REDIS_URL, SYMPHONY_S3_BUCKET, SYMPHONY_DYNAMODB_TABLE, ...) the process is
 * a cluster node: documents in S3, updates through Redis, rooms registered in DynamoDB. The cluster
 * entry (and with it the AWS SDK and ioredis) is only loaded then.
 */
export async function attachCollaboration(server: Server, logger: Logger): Promise<Collaboration> {
  if (isClusterConfigured() && !process.env.SYMPHONY_ADMIN_TOKEN) {
    // A token made up per node works only on the node that made it: through the load balancer the
    // dashboard would accept it on one request in N.
    throw new ConfigurationError('SYMPHONY_ADMIN_TOKEN must be set in cluster mode: every node must accept the same dashboard token');
  }
  const cluster = isClusterConfigured() ? await (await import('../../lib/cluster/index.js')).clusterFromEnvironment({ logger }) : null;
  if (cluster) logger.info(cluster.summary, 'cluster mode');
  const symphony = attachSymphony(server, {
    logger,
    allowedOrigins,
    webhooks: webhooksFromEnvironment(),
    ...(cluster ? cluster.options : { store: new FileStore({ directory: dataDirectory, logger }) }),
  });
  const adminToken = process.env.SYMPHONY_ADMIN_TOKEN || randomBytes(18).toString('base64url');
  if (!process.env.SYMPHONY_ADMIN_TOKEN) {
    logger.warn({ token: adminToken, dashboard: '/admin/' }, 'SYMPHONY_ADMIN_TOKEN is not set: the dashboard accepts this token until restart');
  }
  const metadata = process.env.DATABASE_URL || process.env.PGHOST ? new PostgresMetadataStore({ logger }) : undefined;
  return { symphony, adminToken, metadata };
}
