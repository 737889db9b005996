/** The API's answers as they arrive over the wire: dates are ISO strings. */
import type { WebhookStats } from '../../lib/core/webhooks/webhook-wire-types.js';

export interface RoomItem {
  name: string;
  loaded: boolean;
  connections: number;
  documentBytes: number | null;
  firstActivityAt: string | null;
  lastActivityAt: string | null;
  lastCheckpointAt: string | null;
  peakConnections: number;
  nodes: string[];
  unsaved: boolean;
}

export type SortKey = 'name' | 'lastActivity' | 'documentBytes' | 'connections';

export interface RoomList {
  rooms: RoomItem[];
  total: number;
  offset: number;
  limit: number;
  metadata: { available: boolean; error?: string };
}

export interface RoomDetails {
  room: RoomItem;
  connections: {
    id: string;
    userId: string;
    readOnly: boolean;
    connectedAt: string;
    remoteAddress: string | null;
    messagesIn: number;
    messagesOut: number;
  }[];
  presence: { clientId: number; state: unknown }[];
  sessions: {
    id: string;
    userId: string;
    nodeId: string;
    readOnly: boolean;
    connectedAt: string;
    disconnectedAt: string | null;
    messagesIn: number;
    messagesOut: number;
    state: 'open' | 'closed' | 'lost';
  }[];
  metadata: { available: boolean; error?: string };
  /** Cluster mode only: the nodes holding the room, and the one writing its checkpoints. */
  holders?: Holder[];
  writer?: string | null;
  cluster?: { available: true; readAt: number } | { available: false; error: string };
}

/** A node holding a room, as the cluster registry knows it. Times are ms since the epoch. */
export interface Holder {
  nodeId: string;
  url: string;
  heartbeatAt: number;
}

export interface ClusterNode {
  nodeId: string;
  url: string;
  rooms: number;
  heartbeatAt: number;
}

/** `GET /api/cluster`: which node holds which room (`cluster` is null on a single node). */
export interface ClusterAnswer {
  nodeId: string;
  /** When the server read the view: heartbeat ages are measured from it, on the servers' clock. */
  readAt: number;
  cluster: {
    rooms: { room: string; holders: Holder[]; writer: string | null }[];
    nodes: ClusterNode[];
  } | null;
}

export interface Stats {
  nodeId: string;
  uptimeMs: number;
  rooms: number;
  connections: number;
  messagesPerSecond: { in: number; out: number };
  connectionsOpened: number;
  checkpoints: { written: number; failed: number };
  memory: { rssBytes: number; heapUsedBytes: number };
  metadata: {
    store: string;
    healthy: boolean;
    queued: number;
    writeFailures: number;
    dropped: number;
    lastError: string | null;
  };
  webhooks: WebhookStats;
}

export interface Sample {
  at: number;
  rooms: number;
  connections: number;
  messagesInPerSecond: number;
  messagesOutPerSecond: number;
}

/** A `rooms` event: rooms loaded or changed since the previous sample, and rooms unloaded. */
export interface RoomsEvent {
  updated: Pick<RoomItem, 'name' | 'loaded' | 'connections' | 'documentBytes' | 'lastActivityAt'>[];
  unloaded: string[];
}

/** A version as `GET /api/rooms/:room/versions` lists it. */
export interface VersionItem {
  id: string;
  room: string;
  createdAt: string;
  kind: 'auto' | 'named';
  name?: string;
  createdBy?: string;
  bytes: number;
}

export type { WebhookDeliveryRecord, WebhookStats, WebhookStatus } from '../../lib/core/webhooks/webhook-wire-types.js';
