import type { BusMessage } from './messages.js';

/** One document update in a room's durable log. */
export interface RoomLogEntry {
  /** Position in the room's log: 1, 2, 3... without gaps, so a missing entry is noticed. */
  readonly seq: number;
  /** The node whose client (or host code) made the update. */
  readonly nodeId: string;
  readonly update: Uint8Array;
}

/** Where a room's log stands. */
export interface RoomLogBounds {
  /** The last sequence number the log assigned; 0 for a room that never had an update. */
  readonly head: number;
  /** Every entry up to this sequence number was trimmed: a checkpoint in the document store covers it. */
  readonly trimmed: number;
}

/** What a node reads from a room's log to catch up. */
export interface RoomLogTail extends RoomLogBounds {
  /** The entries after the requested position that are still in the log, in order. */
  readonly entries: RoomLogEntry[];
}

/** What the bus tells the node it serves. */
export interface RoomBusListener {
  /** A message on the channel of a room this node subscribed to, including this node's own. */
  message(room: string, message: BusMessage): void;
  /** The subscriber connection came back after a disconnection: messages published meanwhile were lost. */
  resubscribed(): void;
  /** The command connection came back after a disconnection: retry what failed meanwhile. */
  writable(): void;
}

/**
 * A room's durable update log and its fan-out channel, shared by the nodes of a cluster. Cluster
 * mode implements it with Redis (a stream and a pub/sub channel per room).
 *
 * `append` makes an update durable and publishes it in one atomic step, so every update a node
 * relays is in the log, and the log's sequence numbers let every node notice a lost message.
 */
export interface RoomBus {
  /** Connects; resolves once the bus can subscribe and append (or after a bounded wait, if it cannot yet). */
  start(nodeId: string, listener: RoomBusListener): Promise<void>;
  /** Resolves once messages published to the room from now on are delivered to the listener. */
  subscribe(room: string): Promise<void>;
  /** Stops delivering the room's messages to this node (it unloaded the room). */
  unsubscribe(room: string): Promise<void>;
  /** Appends an update to the room's log and publishes it; resolves to its sequence number. */
  append(room: string, update: Uint8Array): Promise<number>;
  /** Publishes a message that needs no durability (presence, state vectors, repairs, leave). */
  publish(room: string, message: Exclude<BusMessage, { kind: 'update' }>): Promise<void>;
  /** The head (last assigned sequence number) of each room's log, in one round trip. */
  heads(rooms: readonly string[]): Promise<Map<string, number>>;
  /** The room's log after `afterSeq` (all of it for 0). */
  readLog(room: string, afterSeq: number): Promise<RoomLogTail>;
  /**
   * Makes this node the only one allowed to trim the room's log (called when it becomes the room's
   * writer, so a former writer that has not yet noticed cannot trim what the new one has not stored).
   */
  claimTrim(room: string): Promise<RoomLogBounds>;
  /** Drops the entries up to `coveredSeq`, which a checkpoint now covers; false if another node claimed the log. */
  trim(room: string, coveredSeq: number): Promise<boolean>;
  /** Deletes the room's log and its bounds (the room was deleted): a node loading it afterwards finds nothing. */
  deleteLog(room: string): Promise<void>;
  /** Disconnects. */
  close(): Promise<void>;
}
