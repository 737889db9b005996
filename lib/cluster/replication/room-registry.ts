import type { ClusterView } from '../../core/replicator.js';

/** A node that holds a room, as the registry knows it. */
export interface RoomHolder {
  readonly nodeId: string;
  /** The node's internal URL (`SYMPHONY_NODE_URL`), where peers fetch a room's state. */
  readonly url: string;
  /** When the node last confirmed it still holds the room (ms since the epoch). */
  readonly heartbeatAt: number;
}

/** Which node writes a room's checkpoints to the document store, and until when. */
export interface WriterLease {
  readonly holder: string;
  /** The lease is void after this time (ms since the epoch) unless its holder renews it. */
  readonly leaseUntil: number;
  /** When the holder last took or renewed it (ms since the epoch); 0 when unknown. */
  readonly renewedAt: number;
}

/** A room's registry entry: the live nodes holding it and its writer lease. */
export interface RoomEntry {
  /** Live holders only: entries whose heartbeat is stale belong to dead nodes and are left out. */
  readonly holders: RoomHolder[];
  readonly lease: WriterLease | null;
}

/** A node's identity in the registry. */
export interface NodeAddress {
  readonly nodeId: string;
  readonly url: string;
}

/**
 * Which nodes hold which room, and which of them writes it. Cluster mode implements it with
 * DynamoDB; entries carry a heartbeat, so a crashed node's entries are ignored once stale.
 */
export interface RoomRegistry {
  /** How old a heartbeat may be before its entry counts as a dead node's, in milliseconds. */
  readonly staleAfterMs: number;
  /** Who holds the room and who writes it, as of now. */
  lookup(room: string): Promise<RoomEntry>;
  /** Registers this node as a holder of each room, or refreshes its heartbeat. */
  register(node: NodeAddress, rooms: readonly string[]): Promise<void>;
  /** Removes this node as a holder of the room (it unloaded it). */
  deregister(nodeId: string, room: string): Promise<void>;
  /**
   * Takes the room's writer lease if it is free or expired, or renews it if `nodeId` holds it.
   * Resolves to the lease as it stands afterwards (held by `nodeId` or by another node).
   */
  acquireLease(nodeId: string, room: string, durationMs: number): Promise<WriterLease>;
  /**
   * Takes over `stale`, a lease whose holder is known to be dead, before it expires: succeeds only
   * if the lease is still exactly `stale` (nobody renewed or took it meanwhile). Resolves to the
   * lease as it stands afterwards.
   */
  takeOverLease(nodeId: string, room: string, durationMs: number, stale: WriterLease): Promise<WriterLease>;
  /** Gives the lease up (if `nodeId` still holds it), so another holder can take over at once. */
  releaseLease(nodeId: string, room: string): Promise<void>;
  /** Every live node and the rooms each holds, for the dashboard. */
  describe(): Promise<ClusterView>;
  /** Releases its connections. */
  close(): Promise<void>;
}
