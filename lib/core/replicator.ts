import type { Server } from 'node:http';
import type * as Y from 'yjs';
import type { Logger } from './logger.js';

/**
 * The seam between a Symphony node and the other nodes of a cluster (cluster mode implements it
 * with Redis, DynamoDB and S3). A single node runs without one.
 *
 * For each room a node loads, the core calls `join` *before* it loads any state, so the replicator
 * can subscribe first and buffer what other nodes publish meanwhile: no update published while a
 * room loads is lost.
 */
export interface RoomReplicator {
  /** Called once when Symphony starts, with what the replicator may use of the node. */
  start(node: ReplicatorNode): Promise<void> | void;
  /** Called when a room loads on this node, before its state is read: subscribe first, so nothing published meanwhile is lost. */
  join(room: string, replica: RoomReplica): Promise<ReplicaMembership>;
  /**
   * Called by `symphony.close()` once every socket is closed, before the rooms' final checkpoints:
   * the replicator makes sure each room it holds has a writer for them (cluster mode takes over
   * the lease of a writer known to be dead, or waits for it to expire), so that the last node to
   * stop leaves every room in the document store.
   */
  prepareToClose?(): Promise<void>;
  /** Called by `symphony.close()` after every room was checkpointed and left. */
  close(): Promise<void>;
  /**
   * `symphony.deleteRoom`: makes every other node close the room's connections (code 4410) and
   * unload it without saving, then calls `deleteStored` (which deletes the document, through the
   * store, and the versions), then tells the nodes once more, so a node that loaded the room again
   * in between drops it too. Resolves once `deleteStored` has.
   */
  deleteRoom?(room: string, deleteStored: () => Promise<void>): Promise<void>;
  /** Which node holds which room, cluster-wide (for dashboards). */
  describeCluster?(): Promise<ClusterView>;
}

/** The cluster-wide picture: which node holds which room, and which node writes it. */
export interface ClusterView {
  readonly rooms: ReadonlyArray<{
    readonly room: string;
    readonly holders: ReadonlyArray<{ readonly nodeId: string; readonly url: string; readonly heartbeatAt: number }>;
    /** The node holding the room's writer lease, if any. */
    readonly writer: string | null;
  }>;
  readonly nodes: ReadonlyArray<{ readonly nodeId: string; readonly url: string; readonly rooms: number; readonly heartbeatAt: number }>;
}

/** What a replicator may use of the node it runs on. */
export interface ReplicatorNode {
  readonly nodeId: string;
  readonly httpServer: Server;
  readonly logger: Logger;
  /** The whole state of a room this node holds, or null if it holds no such room (for peers' hand-off requests). */
  encodeRoomState(room: string): Uint8Array | null;
  /** Names of the rooms this node holds. */
  loadedRooms(): string[];
  /** Another node deleted the room: close its connections here (code 4410) and unload it without saving. */
  dropDeletedRoom(room: string): Promise<void>;
}

/** What the core offers the replicator for one room. */
export interface RoomReplica {
  readonly room: string;
  readonly doc: Y.Doc;
  /** Applies a document update another node published (origin `{ kind: 'remote', nodeId }`), relays it to local clients and journals it. */
  applyRemoteUpdate(update: Uint8Array, nodeId: string): void;
  /** Applies an awareness update another node published and relays it to local clients. */
  applyRemoteAwareness(update: Uint8Array, nodeId: string): void;
  /** Every presence state this node's clients announced, as one awareness update (null if none). */
  encodeLocalAwareness(): Uint8Array | null;
  /**
   * Marks the room as having changes to checkpoint even if none were made here: this node became
   * the room's writer, and the state it holds is not yet all in the document store.
   */
  requestCheckpoint(): void;
}

/** A room's membership in the cluster, from `join` until `leave`. */
export interface ReplicaMembership {
  /**
   * The room's current state, fetched from a peer node that holds it, or null when no peer does:
   * the core then loads the room from its document store.
   */
  readonly initialState: Uint8Array | null;
  /** Called once the initial state is applied: flush what was buffered while loading. */
  ready(): void;
  /** A document update from this node's clients or host code. */
  publishUpdate(update: Uint8Array): void;
  /** An awareness update from this node's clients (including removals when a client leaves). */
  publishAwareness(update: Uint8Array): void;
  /**
   * Called right before the core encodes a checkpoint. Returns null when this node must not write
   * the room (another node holds the writer lease); otherwise a ticket committed after the state
   * was stored, so the replicator can discard what the checkpoint covers. Throws when the room
   * cannot be considered saved yet (this node's updates are not yet durable in the cluster, or no
   * live node may write it): the core then treats the checkpoint as failed, keeps the room loaded
   * and retries.
   */
  beginCheckpoint(): CheckpointTicket | null;
  /**
   * True while this node holds the room's writer lease, so it alone writes checkpoints, automatic
   * versions and webhook deliveries. A replicator without it counts every node as a writer.
   */
  readonly isWriter?: boolean;
  /** The room is unloading on this node, after its final checkpoint: unsubscribe and deregister. */
  leave(): Promise<void>;
}

/** Permission to write one checkpoint, from `beginCheckpoint`. */
export interface CheckpointTicket {
  /** Called once the checkpoint is stored: what it covers may now be discarded. */
  commit(): void | Promise<void>;
  /** Storing the checkpoint failed with `cause` (the store may have refused a writer that lost its lease). */
  abort?(cause: unknown): void;
}
