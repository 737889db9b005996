import { mergeRoomWrites, mergeSessionWrites } from './merge.js';
import type { MetadataBatch, MetadataStore, RoomListQuery, RoomPage, RoomRecord, RoomSummary, RoomWrite, SessionRecord, SessionWrite } from './metadata-store.js';
import { roomComparator } from './room-order.js';
import { positiveInteger } from '../../util/config-checks.js';

/** Options of `EmbeddedMetadataStore`, all optional. */
export interface EmbeddedMetadataStoreOptions {
  /**
   * Rooms remembered. Beyond it, the least recently active room is forgotten, so a server that
   * sees an endless stream of one-off rooms keeps a bounded history.
   * @default 100_000
   */
  maxRooms?: number;
  /** Sessions remembered per room; older ones are forgotten. @default 50 */
  maxSessionsPerRoom?: number;
  /**
   * A node that has not written for this long is considered gone: its open sessions are reported
   * `lost` and it no longer appears among a room's nodes. Three of the recorder's heartbeats.
   * @default 60_000
   */
  nodeTimeoutMs?: number;
}

interface StoredRoom extends RoomWrite {
  nodeId: string;
}

interface StoredSession extends SessionWrite {
  nodeId: string;
}

/**
 * The default metadata store: in the server's memory, so `npm start` needs no database. It
 * forgets everything at restart and sees only its own node; use `PostgresMetadataStore` for
 * history that survives restarts and spans a cluster.
 */
export class EmbeddedMetadataStore implements MetadataStore {
  readonly kind = 'embedded';
  private readonly maxRooms: number;
  private readonly maxSessionsPerRoom: number;
  private readonly nodeTimeoutMs: number;
  /** In order of last write: the first entry is the first to forget. */
  private readonly rooms = new Map<string, StoredRoom>();
  /** Per room, sessions in the order they were first written. */
  private readonly sessions = new Map<string, Map<string, StoredSession>>();
  private readonly nodesLastSeen = new Map<string, Date>();

  constructor(options: EmbeddedMetadataStoreOptions = {}) {
    this.maxRooms = positiveInteger('maxRooms', options.maxRooms ?? 100_000);
    this.maxSessionsPerRoom = positiveInteger('maxSessionsPerRoom', options.maxSessionsPerRoom ?? 50);
    this.nodeTimeoutMs = positiveInteger('nodeTimeoutMs', options.nodeTimeoutMs ?? 60_000);
  }

  async start(): Promise<void> {}

  async write(batch: MetadataBatch): Promise<void> {
    const seen = this.nodesLastSeen.get(batch.nodeId);
    if (!seen || seen < batch.at) this.nodesLastSeen.set(batch.nodeId, batch.at);
    if (batch.nodeStartedAt) this.closeSessionsOf(batch.nodeId, batch.nodeStartedAt);
    for (const write of batch.rooms) {
      const existing = this.rooms.get(write.name);
      this.rooms.delete(write.name);
      this.rooms.set(write.name, storedRoom(existing ? mergeRoomWrites(existing, write) : write, batch.nodeId));
    }
    for (const write of batch.sessions) this.writeSession(write, batch.nodeId);
    this.raisePeaksToOpenSessions(new Set(batch.sessions.map((session) => session.room)));
    this.forgetLeastRecentRooms();
  }

  async listRooms(query: RoomListQuery): Promise<RoomPage> {
    const excluded = new Set(query.exclude);
    const compare = roomComparator(query.sort, query.descending);
    const count = query.offset + query.limit;
    // A page near the top keeps a small sorted window while scanning; a deep one sorts everything.
    const window = count * 4 < this.rooms.size ? new SortedWindow<StoredRoom>(count, compare) : null;
    const matching: StoredRoom[] = [];
    let total = 0;
    for (const room of this.rooms.values()) {
      if (!room.name.startsWith(query.prefix) || excluded.has(room.name)) continue;
      total++;
      if (window) window.offer(room);
      else matching.push(room);
    }
    const first = window ? window.items : matching.sort(compare).slice(0, count);
    return { rooms: first.slice(query.offset).map((room) => summary(room)), total };
  }

  async getRooms(names: readonly string[]): Promise<RoomRecord[]> {
    const records: RoomRecord[] = [];
    for (const name of new Set(names)) {
      const room = this.rooms.get(name);
      if (room) records.push(this.record(room));
    }
    return records;
  }

  async recentSessions(room: string, limit: number): Promise<SessionRecord[]> {
    const sessions = [...(this.sessions.get(room)?.values() ?? [])];
    sessions.sort((a, b) => b.connectedAt.getTime() - a.connectedAt.getTime());
    return sessions.slice(0, limit).map((session) => ({
      id: session.id,
      room: session.room,
      userId: session.userId,
      nodeId: session.nodeId,
      readOnly: session.readOnly,
      connectedAt: session.connectedAt,
      disconnectedAt: session.disconnectedAt,
      messagesIn: session.messagesIn,
      messagesOut: session.messagesOut,
      state: session.disconnectedAt ? 'closed' : this.isAlive(session.nodeId) ? 'open' : 'lost',
    }));
  }

  async close(): Promise<void> {}

  private writeSession(write: SessionWrite, nodeId: string): void {
    let sessions = this.sessions.get(write.room);
    if (!sessions) {
      sessions = new Map();
      this.sessions.set(write.room, sessions);
    }
    const existing = sessions.get(write.id);
    sessions.set(write.id, { ...(existing ? mergeSessionWrites(existing, write) : write), nodeId });
    for (const id of sessions.keys()) {
      if (sessions.size <= this.maxSessionsPerRoom) break;
      sessions.delete(id);
    }
  }

  private closeSessionsOf(nodeId: string, startedAt: Date): void {
    for (const sessions of this.sessions.values()) {
      for (const [id, session] of sessions) {
        if (session.nodeId === nodeId && session.disconnectedAt === null && session.connectedAt < startedAt) {
          sessions.set(id, { ...session, disconnectedAt: startedAt });
        }
      }
    }
  }

  /** A room's peak counts the open sessions of every live node, not only the writing node's. */
  private raisePeaksToOpenSessions(rooms: Set<string>): void {
    for (const name of rooms) {
      const room = this.rooms.get(name);
      if (!room) continue;
      let open = 0;
      for (const session of this.sessions.get(name)?.values() ?? []) {
        if (session.disconnectedAt === null && this.isAlive(session.nodeId)) open++;
      }
      if (open > room.peakConnections) this.rooms.set(name, storedRoom({ ...room, peakConnections: open }, room.nodeId));
    }
  }

  private forgetLeastRecentRooms(): void {
    for (const name of this.rooms.keys()) {
      if (this.rooms.size <= this.maxRooms) return;
      this.rooms.delete(name);
      this.sessions.delete(name);
    }
  }

  private record(room: StoredRoom): RoomRecord {
    const nodes = new Set<string>();
    for (const session of this.sessions.get(room.name)?.values() ?? []) {
      if (session.disconnectedAt === null && this.isAlive(session.nodeId)) nodes.add(session.nodeId);
    }
    return { ...summary(room), nodes: [...nodes].sort() };
  }

  private isAlive(nodeId: string): boolean {
    const seen = this.nodesLastSeen.get(nodeId);
    return seen !== undefined && Date.now() - seen.getTime() <= this.nodeTimeoutMs;
  }
}

/**
 * Every stored room built by the same literal, so all share one object shape: the room list
 * scans tens of thousands of them per request, and a spread would leave each with its own.
 */
function storedRoom(write: RoomWrite, nodeId: string): StoredRoom {
  return {
    name: write.name,
    firstActivityAt: write.firstActivityAt,
    lastActivityAt: write.lastActivityAt,
    documentBytes: write.documentBytes,
    documentBytesAt: write.documentBytesAt,
    peakConnections: write.peakConnections,
    lastCheckpointAt: write.lastCheckpointAt,
    nodeId,
  };
}

function summary(room: StoredRoom): RoomSummary {
  return {
    name: room.name,
    firstActivityAt: room.firstActivityAt,
    lastActivityAt: room.lastActivityAt,
    documentBytes: room.documentBytes,
    peakConnections: room.peakConnections,
    lastCheckpointAt: room.lastCheckpointAt,
    nodeId: room.nodeId,
  };
}

/** The first `size` items offered, in `compare` order: most items are turned away after one comparison. */
class SortedWindow<T> {
  readonly items: T[] = [];

  constructor(
    private readonly size: number,
    private readonly compare: (a: T, b: T) => number,
  ) {}

  offer(item: T): void {
    const { items, size, compare } = this;
    if (items.length === size && compare(item, items[size - 1]) >= 0) return;
    let low = 0;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compare(item, items[middle]) < 0) high = middle;
      else low = middle + 1;
    }
    items.splice(low, 0, item);
    if (items.length > size) items.pop();
  }
}
