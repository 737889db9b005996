import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { S3Store, type S3StoreOptions } from './adapters/s3-store.js';
import { S3VersionStore } from './adapters/s3-version-store.js';
import { isClusterConfigured } from './cluster-mode.js';
import { ClusterStore } from './replication/cluster-store.js';
import { ClusterReplicator, type ClusterReplicatorOptions } from './replication/cluster-replicator.js';
import { DynamoDbRegistry, type DynamoDbRegistryOptions } from './adapters/dynamodb-registry.js';
import { urlWithScheme } from '../util/config-checks.js';
import { checkNodeId } from '../util/node-id.js';
import { RedisBus, type RedisBusOptions } from './adapters/redis-bus.js';
import type { RoomBus } from './replication/room-bus.js';

/** Options of `clusterFromEnvironment`, besides the variables it reads (`CLUSTER_VARIABLES`). */
export interface ClusterEnvironmentOptions {
  /** Where the variables are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Replicator settings the environment does not carry (timings). */
  replicator?: Partial<Pick<ClusterReplicatorOptions, 'handoffTimeoutMs' | 'syncIntervalMs' | 'leaseRenewalIntervalMs' | 'leaseDurationMs' | 'closeLeaseWaitMs' | 'deleteTimeoutMs'>>;
  /** Redis bus settings besides the URL and prefix. */
  bus?: Partial<Omit<RedisBusOptions, 'url' | 'keyPrefix' | 'logger'>>;
  /** S3 store settings besides the bucket and prefix. */
  store?: Partial<Pick<S3StoreOptions, 'requestTimeoutMs'>>;
  /** Registry settings besides the table. */
  registry?: Partial<Pick<DynamoDbRegistryOptions, 'requestTimeoutMs'>>;
  /**
   * Check at start that the DynamoDB table and the S3 bucket exist and answer (and whether the
   * bucket enforces conditional writes), failing with a `ConfigurationError` that names the missing
   * resource: a node without them would run but never save a room. Off only for tests that build
   * a configuration without the services.
   * @default true
   */
  verifyResources?: boolean;
  /**
   * How long those checks may take altogether, in milliseconds, before the node fails to start:
   * a black-holed endpoint must not keep it waiting.
   * @default 10_000
   */
  verifyTimeoutMs?: number;
  /** How long to wait for the ECS task metadata endpoint, in milliseconds. @default 2_000 */
  metadataTimeoutMs?: number;
}

/** What `clusterFromEnvironment` built: the options to attach with, and what the host app may show or reuse. */
export interface ClusterSetup {
  /** Spread into `attachSymphony`'s options: `attachSymphony(server, { ...cluster.options, logger })`. */
  readonly options: {
    readonly nodeId: string;
    readonly store: ClusterStore;
    readonly replicator: ClusterReplicator;
    /** Versions in the documents' bucket, under `<SYMPHONY_S3_PREFIX>versions/`. */
    readonly versions: { readonly store: S3VersionStore };
  };
  /** Where checkpoints go (the store's `documents`). */
  readonly documents: S3Store;
  /** The URL other nodes reach this one at (`SYMPHONY_NODE_URL`, or derived on Fargate). */
  readonly nodeUrl: string;
  /** What was configured, without secrets: for a start-up log line. */
  readonly summary: Readonly<Record<string, string | number | boolean>>;
}

const MIN_SECRET_LENGTH = 16;

function required(env: NodeJS.ProcessEnv, name: string, meaning: string): string {
  const value = (env[name] ?? '').trim();
  if (value === '') throw new ConfigurationError(`${name} is required in cluster mode: ${meaning}`);
  return value;
}

function redisUrl(env: NodeJS.ProcessEnv): string {
  const value = required(env, 'REDIS_URL', 'the Redis that carries room logs and updates, e.g. redis://127.0.0.1:6379');
  urlWithScheme('REDIS_URL', value, ['redis:', 'rediss:'], 'redis://host:6379');
  return value;
}

/** The node's internal URL: `SYMPHONY_NODE_URL`, or on ECS (Fargate) the task's private IPv4 and `PORT`. */
async function nodeUrlFrom(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const explicit = (env.SYMPHONY_NODE_URL ?? '').trim();
  if (explicit !== '') {
    urlWithScheme('SYMPHONY_NODE_URL', explicit, ['http:', 'https:'], 'http://10.0.1.23:3000');
    return explicit.replace(/\/+$/, '');
  }
  const metadata = (env.ECS_CONTAINER_METADATA_URI_V4 ?? '').trim();
  if (metadata === '') {
    throw new ConfigurationError("SYMPHONY_NODE_URL is required in cluster mode: this node's internal URL, where peers fetch room states (e.g. http://10.0.1.23:3000)");
  }
  const port = Number(env.PORT ?? 3000);
  try {
    const response = await fetch(`${metadata}/task`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const task = (await response.json()) as { Containers?: { Networks?: { IPv4Addresses?: string[] }[] }[] };
    const address = task.Containers?.[0]?.Networks?.[0]?.IPv4Addresses?.[0];
    if (!address) throw new Error('no IPv4 address in the task metadata');
    return `http://${address}:${port}`;
  } catch (error) {
    throw new ConfigurationError(
      `SYMPHONY_NODE_URL is not set and could not be derived from ECS_CONTAINER_METADATA_URI_V4 (${(error as Error).message}); set SYMPHONY_NODE_URL`,
    );
  }
}

/** Checks the table and the bucket together; one error names every resource that failed. */
async function verifyResources(registry: DynamoDbRegistry, documents: S3Store, timeoutMs: number): Promise<void> {
  const abortSignal = AbortSignal.timeout(timeoutMs);
  const results = await Promise.allSettled([registry.verify({ abortSignal }), documents.verify({ abortSignal })]);
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failures.length === 0) return;
  if (failures.length === 1 && failures[0] instanceof ConfigurationError) throw failures[0];
  throw new ConfigurationError(failures.map((failure) => failure.message).join('; '), { cause: failures[0] });
}

/**
 * Builds cluster mode from the environment: an `S3Store` for checkpoints, a `RedisBus` for the
 * rooms' logs and fan-out, a `DynamoDbRegistry`, the `ClusterReplicator` that ties them together,
 * and the `ClusterStore` Symphony reads rooms through (S3 plus the log). Resolves to null when no cluster variable is set
 * (see `isClusterConfigured`); throws a `ConfigurationError` naming the variable when one is
 * missing or invalid, or naming the DynamoDB table or the S3 bucket when it does not exist or does
 * not answer (see `verifyResources`), so a misconfigured node fails at start.
 *
 * | Variable | Meaning | Default |
 * |---|---|---|
 * | `REDIS_URL` | Redis for room logs and fan-out (`redis://` or `rediss://`) | required |
 * | `SYMPHONY_REDIS_PREFIX` | prefix of every Redis key and channel | `symphony:` |
 * | `SYMPHONY_S3_BUCKET` | bucket of the rooms' documents | required |
 * | `SYMPHONY_S3_PREFIX` | key prefix inside the bucket | none |
 * | `SYMPHONY_DYNAMODB_TABLE` | the room registry table | required |
 * | `SYMPHONY_CLUSTER_SECRET` | shared by all nodes, authenticates state hand-off (≥ 16 characters) | required |
 * | `SYMPHONY_NODE_URL` | this node's internal URL | derived on ECS, else required |
 * | `SYMPHONY_NODE_ID` | this node's id | a random UUID |
 * | `PORT` | the port in a derived node URL | `3000` |
 * | `AWS_REGION`, credentials, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB` | read by the AWS SDK as it documents them | SDK defaults |
 */
export function clusterFromEnvironment(options: ClusterEnvironmentOptions = {}): Promise<ClusterSetup | null> {
  return assembleClusterFromEnvironment(options, (bus) => bus);
}

/**
 * `clusterFromEnvironment`, with the Redis bus passed through `decorateBus` before the replicator
 * and the store see it. This is the seam the cluster tests use to lose pub/sub messages as a lossy
 * network would; it is deliberately not exported from the package, so no deployment can
 * configure a fault.
 */
export async function assembleClusterFromEnvironment(
  options: ClusterEnvironmentOptions,
  decorateBus: (bus: RoomBus) => RoomBus,
): Promise<ClusterSetup | null> {
  const env = options.env ?? process.env;
  if (!isClusterConfigured(env)) return null;
  const logger = options.logger ?? silentLogger;
  const url = redisUrl(env);
  const bucket = required(env, 'SYMPHONY_S3_BUCKET', 'the S3 bucket holding the rooms\' documents');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigurationError(`SYMPHONY_S3_BUCKET is not a valid bucket name: ${JSON.stringify(bucket)}`);
  const tableName = required(env, 'SYMPHONY_DYNAMODB_TABLE', 'the DynamoDB table of the room registry');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) throw new ConfigurationError(`SYMPHONY_DYNAMODB_TABLE is not a valid table name: ${JSON.stringify(tableName)}`);
  const secret = required(env, 'SYMPHONY_CLUSTER_SECRET', `a secret shared by every node (at least ${MIN_SECRET_LENGTH} characters) that authenticates state requests between them`);
  if (secret.length < MIN_SECRET_LENGTH) throw new ConfigurationError(`SYMPHONY_CLUSTER_SECRET must be at least ${MIN_SECRET_LENGTH} characters long`);
  const nodeId = (env.SYMPHONY_NODE_ID ?? '').trim() || randomUUID();
  checkNodeId(nodeId, 'SYMPHONY_NODE_ID');
  const nodeUrl = await nodeUrlFrom(env, options.metadataTimeoutMs ?? 2_000);
  const keyPrefix = env.SYMPHONY_REDIS_PREFIX ?? 'symphony:';
  const prefix = env.SYMPHONY_S3_PREFIX ?? '';

  // The SDK reads these from process.env itself; passing them on keeps `options.env` authoritative.
  const region = env.AWS_REGION?.trim() || undefined;
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
  const dynamoEndpoint = env.AWS_ENDPOINT_URL_DYNAMODB?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
  const documents = new S3Store({ bucket, prefix, region, endpoint: s3Endpoint, logger, ...options.store });
  try {
    await documents.client.config.region();
  } catch (error) {
    await documents.close();
    throw new ConfigurationError(`AWS_REGION is not set (nor a region in the shared AWS config): ${(error as Error).message}`);
  }
  const registry = new DynamoDbRegistry({
    tableName,
    region,
    endpoint: dynamoEndpoint,
    staleAfterMs: 3 * (options.replicator?.leaseRenewalIntervalMs ?? 10_000),
    logger,
    ...options.registry,
  });
  if (options.verifyResources ?? true) {
    try {
      await verifyResources(registry, documents, options.verifyTimeoutMs ?? 10_000);
    } catch (error) {
      await Promise.allSettled([registry.close(), documents.close()]);
      throw error;
    }
  }
  const bus = decorateBus(new RedisBus({ url, keyPrefix, logger, ...options.bus }));
  const replicator = new ClusterReplicator({ bus, registry, store: documents, nodeUrl, secret, ...options.replicator });
  const { host } = new URL(url);
  return {
    options: {
      nodeId,
      store: new ClusterStore(documents, bus),
      replicator,
      versions: { store: new S3VersionStore({ client: documents.client, bucket, prefix }) },
    },
    documents,
    nodeUrl,
    summary: { nodeId, nodeUrl, redis: host, redisPrefix: keyPrefix, bucket, s3Prefix: prefix, table: tableName },
  };
}
