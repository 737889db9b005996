import { randomUUID } from 'node:crypto';
import type { RoomReplicator } from './replicator.js';
import { ConfigurationError } from './errors.js';
import { nonNegativeInteger, positiveInteger } from '../util/config-checks.js';
import { parseAllowedOrigins } from './http/origin-check.js';
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
   * is closed with 1013 instead of growing the server's memory without bound. The reply to the
   * client's sync request (up to the whole document) does not count while it is being written, so
   * joining a document larger than this works; one such reply per client at a time.
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
  /**
   * Yjs client ids one connection may announce presence for; one more closes it with 4430. A stock
   * provider announces one (its document's); a few more leave room for a client that shows several
   * documents over one socket. Without it one message announced 170,000 clients.
   * @default 4
   */
  maxPresenceClientsPerConnection?: number;
  /**
   * Largest presence state, in bytes of JSON; a larger one closes its connection with 4430. A user's
   * name, colour, cursor and selection take a few hundred bytes; every state is sent to every
   * joiner and every change to everyone in the room.
   * @default 8_192
   */
  maxPresenceStateBytes?: number;
  /**
   * Presence states one room holds; a connection announcing one more is closed with 4430. Twice
   * the default `maxConnectionsPerRoom`, so a full room of stock clients never reaches it, while
   * states × `maxPresenceStateBytes` bound what a room's presence costs (8 MiB by default).
   * @default 1_000
   */
  maxPresenceStatesPerRoom?: number;
  /**
   * Presence updates one connection may send per second (updates that change something; stock
   * clients' echoes of other users' states are dropped for free and not counted); one more closes
   * it with 4430. Each update is relayed to the whole room; a cursor sent on every mouse move of a
   * 144 Hz display stays under it.
   * @default 200
   */
  maxPresenceMessagesPerSecond?: number;
  /**
   * How long `authenticate` may take, in milliseconds, before the upgrade is refused with HTTP 503.
   * A hook stuck on a dead database must not hold sockets (and a handshake slot) open for ever;
   * 10 s is far above a healthy token check.
   * @default 10_000
   */
  authenticateTimeoutMs?: number;
  /**
   * How long a joining client waits for its room to load, in milliseconds, before the upgrade is
   * refused with HTTP 503 (the load itself goes on, and the client's retry finds the room loaded).
   * Generous, because a large document from S3 may take seconds; a store that hangs must not.
   * @default 30_000
   */
  roomLoadTimeoutMs?: number;
  /**
   * Upgrades this node handles at the same time (authenticating or waiting for their room); more
   * are refused with HTTP 503 at once. Bounds what a flood of handshakes can cost in sockets,
   * `authenticate` calls and room loads, while leaving room for every user of a restarted node to
   * reconnect together.
   * @default 1_000
   */
  maxPendingHandshakes?: number;
  /**
   * WebSockets (open or in their handshake) one client address may hold; more are refused with
   * HTTP 429. Off by default, because an office or a school behind one NAT address is many
   * legitimate users. Behind a reverse proxy, set `trustProxy` so the address is the client's,
   * not the proxy's.
   * @default null (no limit)
   */
  maxConnectionsPerAddress?: number | null;
}

/** How a busy room's broadcasts are coalesced (see lib/core/room/fan-out.ts for the cost model). */
export interface FanOutOptions {
  /**
   * Length of a coalescing tick, in milliseconds; 0 writes every message at once. 20 ms adds at
   * most 20 ms to a message in a busy room (well under the 50 ms at which a cursor starts to look
   * late) and cuts a busy room's writes to at most 50 per receiver a second.
   * @default 20
   */
  tickMs?: number;
  /**
   * Messages a room writes at once within one tick before it counts as busy and coalesces. 1 sends
   * a message that arrives alone at once, and coalesces from the second message of a tick on.
   * @default 1
   */
  busyThresholdPerTick?: number;
}

/** What happens to an upgrade request for a path Symphony does not serve, after every `upgrade` listener ran. */
export type UnknownUpgradeHandling = 'refuse' | 'ignore';

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
  /**
   * How a busy room's broadcasts are coalesced (see `FanOutOptions` for defaults and reasons): a
   * quiet room writes each message at once; a busy one writes each receiver one merged frame per
   * tick. `{ tickMs: 0 }` writes every message at once.
   * @default { tickMs: 20, busyThresholdPerTick: 1 }
   */
  fanOut?: FanOutOptions;
  /** A pino-compatible logger. @default `createJsonLogger()`: level info on stderr, readable on a terminal, JSON lines otherwise */
  logger?: Logger;
  /** This node's id, shown on the dashboard and in cluster mode. @default a random UUID */
  nodeId?: string;
  /** Cluster mode: how this node shares rooms with other nodes. @default none (a single node) */
  replicator?: RoomReplicator;
  /**
   * Browser origins (`https://app.example.com`) allowed to open a WebSocket besides the server's
   * own: a request whose `Origin` header names the host of its `Host` header is always allowed,
   * and a request without `Origin` (not a browser) too. `'*'` allows every origin. Any other
   * origin is refused with HTTP 403 before `authenticate` runs. Same origin by default, because
   * a browser sends the user's cookies with a cross-site WebSocket: without this check any web page
   * could open the user's rooms with the user's session (cross-site WebSocket hijacking).
   * @default [] (same origin only)
   */
  allowedOrigins?: readonly string[] | '*';
  /**
   * What to do with an upgrade request for another path (`/`, `/socket`, an absolute-form URL)
   * that no other `upgrade` listener took by the time they all ran (including their microtasks):
   * `'refuse'` answers 404 and closes the socket; `'ignore'` leaves it to the app, for apps that
   * take upgrades later (after asynchronous work). Refused by default, because a socket nobody
   * answers stays open until the client gives up, which an attacker never does.
   * @default 'refuse'
   */
  handleUnknownUpgrades?: UnknownUpgradeHandling;
  /**
   * Refuses an `authenticate` rejection by opening the WebSocket and closing it at once with 4401
   * (unauthenticated) or 4403 (forbidden) and the error's message as the reason, without loading
   * the room. `false` answers the upgrade with HTTP 401/403 instead. On by default, because a
   * browser cannot read a refused upgrade's status: clients would see a network error and retry
   * for ever, where a close code tells them to refresh their token (4401) or stop (4403).
   * @default true
   */
  refuseWithCloseCode?: boolean;
  /**
   * Number of reverse proxies in front of this server whose `X-Forwarded-For` header is trusted:
   * the client's address is then the one the outermost trusted proxy saw (`X-Forwarded-For` read
   * from the right). It is what `limits.maxConnectionsPerAddress` counts and the dashboard shows.
   * 0 trusts no header, because a client could otherwise claim any address; set 1 behind one load
   * balancer (an AWS ALB, nginx).
   * @default 0
   */
  trustProxy?: number;
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
  readonly fanOut: Required<FanOutOptions>;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly replicator: RoomReplicator | null;
  readonly hooks: SymphonyHooks;
  /** Null for `'*'`; otherwise the allowed origins besides the same origin, normalised (`URL.origin`). */
  readonly allowedOrigins: ReadonlySet<string> | null;
  readonly handleUnknownUpgrades: UnknownUpgradeHandling;
  readonly refuseWithCloseCode: boolean;
  readonly trustProxy: number;
  readonly webhooks: ResolvedWebhookOptions;
  readonly versions: {
    /** Null when version history is off (a document store with no version store beside it). */
    readonly store: VersionStore | null;
    readonly retention: readonly VersionRetentionRule[];
    readonly automatic: boolean;
  };
}

/** Limits that may be `null`, meaning off. */
const nullableLimits = { maxConnectionsPerAddress: true } as const;

/** The limit each `SymphonyLimits` field takes when `options.limits` leaves it out (reasons at each field). */
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
  authenticateTimeoutMs: 10_000,
  roomLoadTimeoutMs: 30_000,
  maxPendingHandshakes: 1_000,
  maxConnectionsPerAddress: null,
  maxPresenceClientsPerConnection: 4,
  maxPresenceStateBytes: 8_192,
  maxPresenceStatesPerRoom: 1_000,
  maxPresenceMessagesPerSecond: 200,
});

/** Applies defaults in one place and throws a `ConfigurationError` naming the first invalid option. */
export function resolveOptions(options: SymphonyOptions = {}): ResolvedOptions {
  const path = options.path ?? '/collab';
  if (typeof path !== 'string' || !path.startsWith('/') || path.length < 2 || path.endsWith('/')) {
    throw new ConfigurationError(`"path" must start with "/" and not end with "/", got ${JSON.stringify(path)}`);
  }
  const limits = { ...defaultLimits, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (name === 'maxHeapUsedPercent') continue;
    // A null limit is one that is off (`maxConnectionsPerAddress`).
    if (value !== null || !(name in nullableLimits)) positiveInteger(`limits.${name}`, value as number);
  }
  const fanOut = {
    tickMs: nonNegativeInteger('fanOut.tickMs', options.fanOut?.tickMs ?? 20),
    busyThresholdPerTick: positiveInteger('fanOut.busyThresholdPerTick', options.fanOut?.busyThresholdPerTick ?? 1),
  };
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
  const handleUnknownUpgrades = options.handleUnknownUpgrades ?? 'refuse';
  if (handleUnknownUpgrades !== 'refuse' && handleUnknownUpgrades !== 'ignore') {
    throw new ConfigurationError(`"handleUnknownUpgrades" must be 'refuse' or 'ignore', got ${JSON.stringify(handleUnknownUpgrades)}`);
  }
  const refuseWithCloseCode = options.refuseWithCloseCode ?? true;
  if (typeof refuseWithCloseCode !== 'boolean') throw new ConfigurationError(`"refuseWithCloseCode" must be a boolean, got ${JSON.stringify(refuseWithCloseCode)}`);
  const webhooks = resolveWebhookOptions(options.webhooks, options.webhookDelivery);
  const logger = options.logger ?? createJsonLogger();
  const store = options.store ?? new FileStore({ directory: process.env.SYMPHONY_DATA_DIR ?? './.symphony-data', logger });
  return {
    path,
    store,
    checkpointIntervalMs,
    unloadGraceMs,
    limits,
    fanOut,
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
    allowedOrigins: parseAllowedOrigins(options.allowedOrigins ?? []),
    handleUnknownUpgrades,
    refuseWithCloseCode,
    trustProxy: nonNegativeInteger('trustProxy', options.trustProxy ?? 0),
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
