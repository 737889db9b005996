/**
 * Cluster mode: `import { clusterFromEnvironment } from 'symphony-collab/cluster'`. A separate entry, so
 * that single-node apps never load the AWS SDK or ioredis (optional peer dependencies).
 * @module symphony-collab/cluster
 */
// Our declarations name Node's types (http, streams, events, Buffer); the reference keeps them
// self-contained for apps whose tsconfig lists no "types" (TypeScript 6 and later include none by default).
/// <reference types="node" preserve="true" />
export { clusterFromEnvironment, type ClusterEnvironmentOptions, type ClusterSetup } from './environment.js';
export { CLUSTER_VARIABLES, isClusterConfigured } from './cluster-mode.js';
export { ClusterReplicator, type ClusterReplicatorOptions } from './replication/cluster-replicator.js';
export { ClusterStore } from './replication/cluster-store.js';
export { RedisBus, type RedisBusOptions } from './adapters/redis-bus.js';
export { DynamoDbRegistry, ensureRegistryTable, LEASE_SORT_KEY, type DynamoDbRegistryOptions } from './adapters/dynamodb-registry.js';
export { ensureDocumentBucket, S3Store, s3ClientConfig, type ConditionalWrites, type S3StoreOptions } from './adapters/s3-store.js';
export { S3VersionStore, type S3VersionStoreOptions } from './adapters/s3-version-store.js';
export { NoWriterError, StaleCheckpointError, UnpublishedUpdatesError } from './replication/errors.js';
export type { CheckpointStore } from './replication/checkpoint-store.js';
export { StateHandoffError, STATE_ROUTE_PREFIX } from './replication/state-handoff.js';
export type { RoomBus, RoomBusListener, RoomLogBounds, RoomLogEntry, RoomLogTail } from './replication/room-bus.js';
export type { NodeAddress, RoomEntry, RoomHolder, RoomRegistry, WriterLease } from './replication/room-registry.js';
export type { BusMessage } from './replication/messages.js';
export type { ClusterView } from '../core/replicator.js';
