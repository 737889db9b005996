import { randomUUID } from 'node:crypto';
import type { RoomReplicator } from './replicator.js';
import { ConfigurationError } from './errors.js';
import { nonNegativeInteger, positiveInteger } from '../util/config-checks.js';
import { createJsonLogger, type Logger } from './logger.js';
import type { DocumentStore } from './storage/document-store.js';
import { FileStore } from './storage/file-store.js';
import { MemoryStore } from './storage/memory-store.js';
import { FileVersionStore } from './versions/file-version-store.js';
import { MemoryVersionStore } from './versions/memory-version-store.js';
import { checkRetention, defaultVersionRetention } from './versions/retention.js';
import type { SymphonyHooks } from './types.js';
import type { VersionStore } from './versions/version-store.js';
import type { VersionRetentionRule } from './versions/version-types.js';
import type { WebhookEndpoint } from './webhooks/webhook-wire-types.js';
import { resolveWebhookOptions, type ResolvedWebhookOptions, type WebhookDeliveryOptions } from './webhooks/webhook-options.js';

/** Resource limits. Each protects the server (and every other room) from one client. */
export interface SymphonyLimits {
  /**
   * Largest WebSocket message accepted, in bytes; a larger one closes the connection with 1009
   * before it is buffered. A whiteboard stroke or a paste of a long text fits easily in 1 MiB;
   * a client sending more is broken or hostile.
   * @default 1_048_576
   */
  maxMessageBytes?: number;
  /**
   * Largest document a room may grow to, in bytes of encoded state. An update that would exceed it
   * is refused and its connection closed with 4413, so one room cannot exhaust the server's memory.
   * @default 52_428_800
   */
  maxDocumentBytes?: number;
  /**
   * Connections one room accepts on this node; more are closed with 4429 (room full). Fan-out cost
   * grows with the square of a room's size.
   * @default 500
   */
  maxConnectionsPerRoom?: number;
  /**
   * Bytes that may wait to be sent to one client. A client that reads slower than its room writes
   * is closed with 1013 instead of growing the server's memory without bound.
   * @default 4_194_304
   */
  maxBufferedBytes?: number;
  /**
   * Interval of WebSocket pings, in milliseconds. A connection that has not answered the previous
   * ping is terminated: dead sockets (a laptop closed mid-session) otherwise linger for minutes.
   * @default 30_000
   */
  pingIntervalMs?: number;
  /**
   * Longest room name, in characters; longer names are refused with HTTP 400.
   * @default 256
   */
  maxRoomNameLength?: number;
}

/** Version history: automatic versions at checkpoints, named versions, restore. */
export interface VersionOptions {
  /**
   * Write a version at each checkpoint that changed the document (the writer node only, in
   * cluster mode). Named versions (`symphony.createVersion`) work either way.
   * @default true
   */
  automatic?: boolean;
  /**
   * How automatic versions are thinned after each new one (named versions are never thinned).
   * The default keeps every version of the last hour, one per hour for a day and one per day for
   * 30 days: fine-grained where undoing a mistake is likely, a bounded number (at most ~55 plus
   * the last hour's) over a month.
   * @default [{ withinMs: 3_600_000, everyMs: 0 }, { withinMs: 86_400_000, everyMs: 3_600_000 }, { withinMs: 2_592_000_000, everyMs: 86_400_000 }]
   */
  retention?: VersionRetentionRule[];
  /**
   * Where versions are stored. @default a `FileVersionStore` in the FileStore's directory, a
   * `MemoryVersionStore` beside a MemoryStore, the documents' bucket in cluster mode; none
   * (version history off) beside any other document store
   */
  store?: VersionStore;
}

export interface SymphonyOptions extends SymphonyHooks {
  /**
   * URL path under which WebSocket upgrades are handled; the room name is the rest of the path.
   * Upgrades for other paths are left to the host app.
   * @default '/collab'
   */
  path?: string;
  /** Where documents are stored. @default new FileStore({ directory: process.env.SYMPHONY_DATA_DIR ?? './.symphony-data' }) */
  store?: DocumentStore;
  /**
   * How often a room with unsaved changes is checkpointed, in milliseconds. Rooms are also
   * checkpointed when their last connection leaves and on shutdown; between checkpoints the
   * store's journal (if any) keeps every update.
   * @default 30_000
   */
  checkpointIntervalMs?: number;
  /**
   * How long an empty room stays in memory after its last connection left, in milliseconds, so a
   * page reload does not reload the document from the store.
   * @default 5_000
   */
  unloadGraceMs?: number;
  /** Resource limits; see `SymphonyLimits` for defaults and reasons. */
  limits?: SymphonyLimits;
  /** A pino-compatible logger. @default `createJsonLogger()`: level info on stderr, readable on a terminal, JSON lines otherwise */
  logger?: Logger;
  /** This node's id, shown on the dashboard and in cluster mode. @default a random UUID */
  nodeId?: string;
  /** Cluster mode: how this node shares rooms with other nodes. @default none (a single node) */
  replicator?: RoomReplicator;
  /** Version history; see `VersionOptions` for defaults and reasons. */
  versions?: VersionOptions;
  /**
   * Receivers of signed webhook events (`room.loaded`, `document.updated`, `user.joined`, …; see the
   * README): `[{ url, secret, events? }]`. The URL must be http(s), the secret at least 16 characters.
   * @default [] (no webhooks)
   */
  webhooks?: WebhookEndpoint[];
  /** Queue, retry and timing settings of webhook delivery; see `WebhookDeliveryOptions` for defaults and reasons. */
  webhookDelivery?: WebhookDeliveryOptions;
}

export interface ResolvedOptions {
  readonly path: string;
  readonly store: DocumentStore;
  readonly checkpointIntervalMs: number;
  readonly unloadGraceMs: number;
  readonly limits: Required<SymphonyLimits>;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly replicator: RoomReplicator | null;
  readonly hooks: SymphonyHooks;
  readonly webhooks: ResolvedWebhookOptions;
  readonly versions: {
    /** Null when version history is off (a document store with no version store beside it). */
    readonly store: VersionStore | null;
    readonly retention: readonly VersionRetentionRule[];
    readonly automatic: boolean;
  };
}

/** The limit each `SymphonyLimits` field takes when `options.limits` leaves it out (reasons at each field). */
export const defaultLimits: Readonly<Required<SymphonyLimits>> = Object.freeze({
  maxMessageBytes: 1_048_576,
  maxDocumentBytes: 52_428_800,
  maxConnectionsPerRoom: 500,
  maxBufferedBytes: 4_194_304,
  pingIntervalMs: 30_000,
  maxRoomNameLength: 256,
});

/** Applies defaults in one place and throws a `ConfigurationError` naming the first invalid option. */
export function resolveOptions(options: SymphonyOptions = {}): ResolvedOptions {
  const path = options.path ?? '/collab';
  if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2 || path.endsWith('/')) {
    throw new ConfigurationError(`"path" must start with "/" and not end with "/", got ${JSON.stringify(path)}`);
  }
  const limits = { ...defaultLimits, ...options.limits };
  for (const [name, value] of Object.entries(limits)) positiveInteger(`limits.${name}`, value);
  const checkpointIntervalMs = positiveInteger('checkpointIntervalMs', options.checkpointIntervalMs ?? 30_000);
  const unloadGraceMs = nonNegativeInteger('unloadGraceMs', options.unloadGraceMs ?? 5_000);
  for (const hook of ['authenticate', 'onLoad', 'onChange', 'onStore', 'onConnect', 'onDisconnect'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new ConfigurationError(`"${hook}" must be a function`);
    }
  }
  const webhooks = resolveWebhookOptions(options.webhooks, options.webhookDelivery);
  const logger = options.logger ?? createJsonLogger();
  const store = options.store ?? new FileStore({ directory: process.env.SYMPHONY_DATA_DIR ?? './.symphony-data', logger });
  return {
    path,
    store,
    checkpointIntervalMs,
    unloadGraceMs,
    limits,
    logger,
    nodeId: options.nodeId ?? randomUUID(),
    replicator: options.replicator ?? null,
    hooks: {
      authenticate: options.authenticate,
      onLoad: options.onLoad,
      onChange: options.onChange,
      onStore: options.onStore,
      onConnect: options.onConnect,
      onDisconnect: options.onDisconnect,
    },
    webhooks,
    versions: resolveVersionOptions(options.versions, store),
  };
}

function resolveVersionOptions(options: VersionOptions = {}, store: DocumentStore): ResolvedOptions['versions'] {
  if (options.automatic !== undefined && typeof options.automatic !== 'boolean') throw new ConfigurationError('"versions.automatic" must be a boolean');
  const versionStore = options.store ?? defaultVersionStore(store);
  if (versionStore !== null && (typeof versionStore !== 'object' || typeof versionStore.put !== 'function' || typeof versionStore.list !== 'function')) {
    throw new ConfigurationError('"versions.store" must be a VersionStore');
  }
  return {
    store: versionStore,
    retention: options.retention === undefined ? defaultVersionRetention : checkRetention(options.retention),
    automatic: options.automatic ?? true,
  };
}

/** Versions live beside the documents; a store Symphony does not know has none unless one is given. */
function defaultVersionStore(store: DocumentStore): VersionStore | null {
  if (store instanceof FileStore) return new FileVersionStore({ directory: store.directory });
  if (store instanceof MemoryStore) return new MemoryVersionStore();
  return null;
}
