/**
 * The server core: `attachSymphony`, its options, storage, errors, and the developer dashboard's
 * framework-agnostic handlers and metadata stores.
 * @module symphony-collab
 */
// Our declarations name Node's types (http, streams, events, Buffer); the reference keeps them
// self-contained for apps whose tsconfig lists no "types" (TypeScript 6 and later include none by default).
/// <reference types="node" preserve="true" />
export { attachSymphony, Symphony, type DisconnectFilter, type SymphonyStats } from './core/symphony.js';
export { defaultLimits, type SymphonyLimits, type SymphonyOptions, type UnknownUpgradeHandling, type VersionOptions } from './core/options.js';
export type {
  CreateVersionOptions,
  RestoreVersionOptions,
  StoredVersion,
  VersionInfo,
  VersionRetentionRule,
} from './core/versions/version-types.js';
export type { VersionStore } from './core/versions/version-store.js';
export { FileVersionStore } from './core/versions/file-version-store.js';
export { MemoryVersionStore } from './core/versions/memory-version-store.js';
export { defaultVersionRetention } from './core/versions/retention.js';
export { CloseCode, CloseReason, type CloseCodeName, type CloseCodeValue } from './core/protocol/close-codes.js';
export type {
  AuthenticateContext,
  AuthResult,
  ChangePayload,
  ConnectionInfo,
  ConnectPayload,
  DisconnectPayload,
  LoadPayload,
  RoomInfo,
  ShutdownReport,
  StorePayload,
  SymphonyHooks,
  UpdateOrigin,
} from './core/types.js';
export type { SymphonyEventMap, SymphonyEvents } from './core/events.js';
export type { DocumentStore, RoomStorageStatus, StorageDamage } from './core/storage/document-store.js';
export { FileStore, type FileStoreOptions } from './core/storage/file-store.js';
export { MemoryStore } from './core/storage/memory-store.js';
export { documentToJSON } from './core/document/to-json.js';
export { signWebhook, verifyWebhook, type VerifyWebhookOptions } from './core/webhooks/signature.js';
export { defaultWebhookDelivery, type WebhookDeliveryOptions } from './core/webhooks/webhook-options.js';
export {
  webhookEventTypes,
  type WebhookDeliveryRecord,
  type WebhookDeliveryState,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookEventData,
  type WebhookEventType,
  type WebhookStats,
  type WebhookStatus,
} from './core/webhooks/webhook-wire-types.js';
export {
  AuthenticationError,
  CheckpointError,
  ClosedError,
  ConfigurationError,
  InvalidArgumentError,
  InvalidRoomNameError,
  RoomLoadError,
  StorageUnavailableError,
  SymphonyError,
  UnsupportedOperationError,
  UpdateRejectedError,
  type UpdateRejectionCode,
} from './core/errors.js';
export { createJsonLogger, silentLogger, type JsonLoggerOptions, type Logger, type LogLevel } from './core/logger.js';
export type {
  CheckpointTicket,
  ClusterView,
  ReplicaMembership,
  ReplicatorNode,
  RoomReplica,
  RoomReplicator,
} from './core/replicator.js';
// Cluster mode itself lives in 'symphony-collab/cluster', so the core never loads the AWS SDK or ioredis.
export { isClusterConfigured } from './cluster/cluster-mode.js';
// The developer dashboard: framework-agnostic handlers (mounted by 'symphony-collab/express' and 'symphony-collab/koa') and its metadata stores.
export { createDashboard, Dashboard } from './dashboard/dashboard.js';
export type { DashboardAuthorize, DashboardOptions } from './dashboard/options.js';
export { isStreamingBody, type DashboardRequest, type DashboardResponse, type StreamingBody } from './dashboard/http.js';
export type { DashboardSample, DashboardStats } from './dashboard/stats.js';
export type { RoomListItem, RoomListResult } from './dashboard/room-list.js';
export type {
  MetadataBatch,
  MetadataStore,
  RoomListQuery,
  RoomPage,
  RoomRecord,
  RoomSortKey,
  RoomSummary,
  RoomWrite,
  SessionRecord,
  SessionWrite,
} from './dashboard/metadata/metadata-store.js';
export { EmbeddedMetadataStore, type EmbeddedMetadataStoreOptions } from './dashboard/metadata/embedded-store.js';
export { PostgresMetadataStore, type PostgresMetadataStoreOptions } from './dashboard/metadata/postgres-store.js';
export { MetadataRecorder, type MetadataRecorderOptions, type MetadataRecorderStats } from './dashboard/metadata/recorder.js';
