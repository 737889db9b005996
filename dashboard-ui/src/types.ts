/** The API's answers as they arrive over the wire: dates are ISO strings. */

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
