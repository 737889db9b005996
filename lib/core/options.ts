import { randomUUID } from 'node:crypto';
import type { RoomReplicator } from './replicator.js';
import { ConfigurationError } from './errors.js';
import { nonNegativeInteger, positiveInteger } from '../util/config-checks.js';
import { createJsonLogger, type Logger } from './logger.js';
import type { DocumentStore } from './storage/document-store.js';
import { FileStore } from './storage/file-store.js';
import type { SymphonyHooks } from './types.js';

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
   * Most items a room's document may hold, weighted by what they cost in memory (see `Footprint`:
   * one unit is about 250 bytes of heap). Encoded bytes understate memory 20–60× for many tiny
   * items; 750,000 units keep the worst case near 200 MB, so a 512 MB heap survives one writer
   * doing its worst, while a long, heavily edited text or a whiteboard of thousands of shapes stays
   * far below. An update that would exceed it is refused and its connection closed with 4413.
   * @default 750_000
   */
  maxDocumentItems?: number;
  /**
   * Most text, keys and binary a room's document may hold, in bytes (UTF-16 characters count 2).
   * 32 MiB is some ten times the longest novels; beyond it the update is refused with 4413.
   * @default 33_554_432
   */
  maxDocumentContentBytes?: number;
  /**
   * Deepest nesting of shared types (a top-level type is depth 0, a type inside it 1). Yjs walks
   * nested types recursively and overflows the stack at 1,500–3,000 levels, in the middle of a
   * transaction; rich-text editors nest about 2 levels per list level (Tiptap lists nested 20 deep
   * are 42 levels). An update nesting deeper is refused whole and its connection closed with 4422.
   * @default 128
   */
  maxNestingDepth?: number;
  /**
   * Bytes of updates whose dependencies are missing that a room holds back. Yjs keeps them outside
   * every other limit, writes them into checkpoints and sends them to every joiner; stock clients
   * send them again with any missing data on their next sync. Beyond it they are dropped and the
   * connection that sent the last one is closed with 4424.
   * @default 65_536
   */
  maxPendingBytes?: number;
  /**
   * Heap use, in percent of the heap limit (`--max-old-space-size`), above which no new room is
   * loaded (the upgrade is answered 503) so that the rooms already loaded keep their memory and
   * the process does not die of an out-of-memory error. Loaded rooms keep accepting connections.
   * A number above 0 and at most 100 (fractions allowed).
   * @default 85
   */
  maxHeapUsedPercent?: number;
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
  /** A pino-compatible logger. @default JSON lines on stderr at level info */
  logger?: Logger;
  /** This node's id, shown on the dashboard and in cluster mode. @default a random UUID */
  nodeId?: string;
  /** Cluster mode: how this node shares rooms with other nodes. @default none (a single node) */
  replicator?: RoomReplicator;
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
}

export const defaultLimits: Readonly<Required<SymphonyLimits>> = Object.freeze({
  maxMessageBytes: 1_048_576,
  maxDocumentBytes: 52_428_800,
  maxDocumentItems: 750_000,
  maxDocumentContentBytes: 33_554_432,
  maxNestingDepth: 128,
  maxPendingBytes: 65_536,
  maxHeapUsedPercent: 85,
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
  for (const [name, value] of Object.entries(limits)) {
    if (name !== 'maxHeapUsedPercent') positiveInteger(`limits.${name}`, value);
  }
  if (!(typeof limits.maxHeapUsedPercent === 'number' && limits.maxHeapUsedPercent > 0 && limits.maxHeapUsedPercent <= 100)) {
    throw new ConfigurationError(`"limits.maxHeapUsedPercent" must be a number above 0 and at most 100, got ${String(limits.maxHeapUsedPercent)}`);
  }
  const checkpointIntervalMs = positiveInteger('checkpointIntervalMs', options.checkpointIntervalMs ?? 30_000);
  const unloadGraceMs = nonNegativeInteger('unloadGraceMs', options.unloadGraceMs ?? 5_000);
  for (const hook of ['authenticate', 'onLoad', 'onChange', 'onStore', 'onConnect', 'onDisconnect'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new ConfigurationError(`"${hook}" must be a function`);
    }
  }
  const logger = options.logger ?? createJsonLogger();
  return {
    path,
    store: options.store ?? new FileStore({ directory: process.env.SYMPHONY_DATA_DIR ?? './.symphony-data', logger }),
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
  };
}
