/**
 * What the dashboard remembers about rooms and connection sessions beyond what is in memory:
 * rooms that are not loaded, sessions that ended, and (in cluster mode) what other nodes serve.
 *
 * Symphony ships `EmbeddedMetadataStore` (in-process, the default) and `PostgresMetadataStore`.
 * The contract the recorder relies on:
 * - `write(batch)` applies the whole batch or nothing, and is idempotent and order-insensitive:
 *   every field merges monotonically (earliest first activity, latest last activity, highest
 *   peak, newest document size). A batch retried after an ambiguous failure, or batches of
 *   several nodes racing on the same room, therefore never lose or double-count anything.
 * - Every row written names the node that wrote it (`batch.nodeId`).
 */
export interface MetadataStore {
  /** A short name for stats and logs, e.g. `embedded` or `postgres`. */
  readonly kind: string;
  /** Creates or migrates the schema. Idempotent; safe when several nodes start at once. */
  start(): Promise<void>;
  /** Applies one node's batch; applying the same batch twice changes nothing. */
  write(batch: MetadataBatch): Promise<void>;
  /**
   * One page of rooms, sorted, filtered by prefix, leaving out the names in `query.exclude`. Rows
   * come without their nodes (the costly part): `getRooms` completes the few that are shown.
   */
  listRooms(query: RoomListQuery): Promise<RoomPage>;
  /** The full records of the named rooms that exist, in no particular order. */
  getRooms(names: readonly string[]): Promise<RoomRecord[]>;
  /** A room's most recent sessions, newest first. */
  recentSessions(room: string, limit: number): Promise<SessionRecord[]>;
  /** Releases connections; the recorder has flushed before. */
  close(): Promise<void>;
}

/** What one node learned since its previous write. */
export interface MetadataBatch {
  readonly nodeId: string;
  /** When the batch was taken: the node's heartbeat, which tells live nodes from dead ones. */
  readonly at: Date;
  /**
   * When this node started, in its batches until one is written: the store closes the sessions
   * this node id left open before that time (an earlier run that crashed) before anything else.
   * A time, not a flag, so a batch applied twice cannot close the sessions of the current run.
   */
  readonly nodeStartedAt: Date | null;
  readonly rooms: readonly RoomWrite[];
  readonly sessions: readonly SessionWrite[];
}

/** What one node reports about a room in a batch. */
export interface RoomWrite {
  readonly name: string;
  readonly firstActivityAt: Date;
  readonly lastActivityAt: Date;
  /** Null when this write carries no document size. */
  readonly documentBytes: number | null;
  /** When `documentBytes` was measured: the newest measurement wins. */
  readonly documentBytesAt: Date | null;
  /** Most connections this node saw at once since its previous write. */
  readonly peakConnections: number;
  readonly lastCheckpointAt: Date | null;
}

/** A connection's session as one node reports it (open until `disconnectedAt` is set). */
export interface SessionWrite {
  /** The connection id. */
  readonly id: string;
  readonly room: string;
  readonly userId: string;
  readonly readOnly: boolean;
  readonly connectedAt: Date;
  readonly disconnectedAt: Date | null;
  readonly messagesIn: number;
  readonly messagesOut: number;
}

/** A room as the store lists it. */
export interface RoomSummary {
  readonly name: string;
  readonly firstActivityAt: Date;
  readonly lastActivityAt: Date;
  readonly documentBytes: number | null;
  readonly peakConnections: number;
  readonly lastCheckpointAt: Date | null;
  /** The node that wrote the record last. */
  readonly nodeId: string;
}

export interface RoomRecord extends RoomSummary {
  /** Live nodes with open sessions in the room (several in cluster mode), sorted. */
  readonly nodes: readonly string[];
}

/** A session as the store returns it. */
export interface SessionRecord {
  readonly id: string;
  readonly room: string;
  readonly userId: string;
  readonly nodeId: string;
  readonly readOnly: boolean;
  readonly connectedAt: Date;
  readonly disconnectedAt: Date | null;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** `open`, `closed`, or `lost`: still open on record, but its node stopped reporting (it crashed). */
  readonly state: 'open' | 'closed' | 'lost';
}

/** Sort keys of the room list. `connections` is live data: stored rooms sort after loaded ones, by name. */
export type RoomSortKey = 'name' | 'lastActivity' | 'documentBytes' | 'connections';

/** One page of the room list: filter, order and window. */
export interface RoomListQuery {
  readonly prefix: string;
  readonly sort: RoomSortKey;
  readonly descending: boolean;
  readonly offset: number;
  readonly limit: number;
  readonly exclude: readonly string[];
}

/** One page of rooms, and how many match in all. */
export interface RoomPage {
  readonly rooms: RoomSummary[];
  /** Rooms matching the prefix, excluded ones left out. */
  readonly total: number;
}
