import { typeToJSON } from '../core/document/to-json.js';
import { InvalidRoomNameError } from '../core/errors.js';
import { normalizeRoomName } from '../core/http/room-name.js';
import type { MetadataStore, RoomRecord, SessionRecord } from './metadata/metadata-store.js';
import type { Symphony } from '../core/symphony.js';
import type { ClusterViewCache, RoomClusterFields, RoomPlacement } from './cluster-view.js';
import { BadRequestError, failure, json, type DashboardResponse } from './http.js';
import { combine, liveItem, storedItem, unavailable, type RoomListItem, type RoomListResult } from './room-list.js';

/** The answer of `GET /api/rooms/:room`. */
export interface RoomDetailsAnswer {
  readonly room: RoomListItem;
  /** The room's live connections on this node. */
  readonly connections: {
    readonly id: string;
    readonly userId: string;
    readonly readOnly: boolean;
    readonly connectedAt: Date;
    readonly remoteAddress: string | null;
    readonly messagesIn: number;
    readonly messagesOut: number;
    readonly droppedUpdates: number;
  }[];
  readonly presence: { readonly clientId: number; readonly state: unknown }[];
  /** Recent sessions from the metadata store, newest first. */
  readonly sessions: SessionRecord[];
  readonly metadata: RoomListResult['metadata'];
  /** Cluster mode only: the nodes holding the room. */
  readonly holders?: RoomPlacement['holders'];
  /** Cluster mode only: the node writing the room's checkpoints. */
  readonly writer?: RoomPlacement['writer'];
  /** Cluster mode only: whether the registry could be read. */
  readonly cluster?: RoomClusterFields['cluster'];
}

/** A room name from its percent-encoded path segment; a malformed one is an `InvalidRoomNameError` (400). */
export function decodeRoomName(segment: string): string {
  let name: string;
  try {
    name = decodeURIComponent(segment);
  } catch {
    throw new InvalidRoomNameError('not valid percent-encoded UTF-8');
  }
  // Length is checked by the core where it matters (reading the store), against its configured limit.
  return normalizeRoomName(name, Number.MAX_SAFE_INTEGER);
}

/**
 * `GET /api/rooms/:room`: the room as listed, its live connections and presence on this node, and
 * its recent sessions from the metadata store; in cluster mode also the nodes holding it
 * (`holders`) and the one writing it (`writer`), or `cluster.available: false` when the registry
 * could not be read. A room neither loaded, recorded nor held by a node is looked up in the
 * document store (it may predate the metadata), and is a 404 if it is not there either.
 */
export async function roomDetails(symphony: Symphony, store: MetadataStore, clusterView: ClusterViewCache, name: string, sessionsLimit: number): Promise<DashboardResponse> {
  const info = symphony.room(name);
  let record: RoomRecord | undefined;
  let sessions: SessionRecord[] = [];
  let metadata: RoomListResult['metadata'] = { available: true };
  const placement = clusterView.roomFields(name);
  try {
    [[record], sessions] = await Promise.all([store.getRooms([name]), store.recentSessions(name, sessionsLimit)]);
  } catch (error) {
    metadata = unavailable(error);
  }
  const clusterFields = await placement;
  let room: RoomListItem;
  if (info) {
    room = record ? combine(liveItem(info, symphony.nodeId), record) : liveItem(info, symphony.nodeId);
  } else if (record) {
    room = storedItem(record);
  } else {
    const state = await symphony.readState(name);
    // Held by another node but not yet written anywhere: it exists all the same.
    const heldElsewhere = clusterFields !== null && 'holders' in clusterFields && clusterFields.holders.length > 0;
    if (state === null && !heldElsewhere) return failure(404, 'room not found', { code: 'room_not_found', room: name });
    room = { ...emptyItem(name), documentBytes: state?.byteLength ?? null };
  }
  const live = symphony.connections(name);
  const connections: RoomDetailsAnswer['connections'] = live.map((connection) => ({
    id: connection.id,
    userId: connection.userId,
    readOnly: connection.readOnly,
    connectedAt: connection.connectedAt,
    remoteAddress: connection.remoteAddress ?? null,
    messagesIn: connection.messagesIn,
    messagesOut: connection.messagesOut,
    droppedUpdates: connection.droppedUpdates,
  }));
  // States are whatever clients sent: rendered depth-capped, so a deeply nested one cannot fail the view.
  const presence = [...symphony.presence(name)].map(([clientId, state]) => ({ clientId, state: typeToJSON(state) }));
  // A session still open here has live message counts; the record has those of its last write.
  const counts = new Map(live.map((connection) => [connection.id, connection]));
  const recent = sessions.map((session) => {
    const current = counts.get(session.id);
    return current ? { ...session, messagesIn: current.messagesIn, messagesOut: current.messagesOut } : session;
  });
  const answer: RoomDetailsAnswer = { room, connections, presence, sessions: recent, metadata, ...clusterFields };
  return json(200, answer);
}

/** `GET /api/rooms/:room/document`: the document as JSON, read from memory or from the store without loading the room. */
export async function roomDocument(symphony: Symphony, name: string): Promise<DashboardResponse> {
  const document = await symphony.toJSON(name);
  if (document === null) return failure(404, 'room not found', { code: 'room_not_found', room: name });
  return json(200, { room: name, loaded: symphony.room(name) !== undefined, document });
}

/**
 * `POST /api/rooms/:room/disconnect` with `{ userId?, connectionId? }` (no body: everyone in the
 * room): closes the matching connections on this node with 4401, so their clients fetch a fresh
 * token and `authenticate` decides again. Answers `{ closed: N }`.
 */
export function disconnectFromRoom(symphony: Symphony, name: string, body: unknown): DashboardResponse {
  const filter = body === undefined ? {} : body;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new BadRequestError('body must be a JSON object: { "userId"?, "connectionId"? }');
  const { userId, connectionId, ...unknown } = filter as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw new BadRequestError(`unknown field ${JSON.stringify(extra[0])}: expected "userId" or "connectionId"`);
  for (const [field, value] of [['userId', userId], ['connectionId', connectionId]] as const) {
    if (value !== undefined && typeof value !== 'string') throw new BadRequestError(`"${field}" must be a string`);
  }
  const closed = symphony.disconnect({ room: name, userId: userId as string | undefined, connectionId: connectionId as string | undefined });
  return json(200, { closed });
}

function emptyItem(name: string): RoomListItem {
  return {
    name,
    loaded: false,
    connections: 0,
    documentBytes: null,
    firstActivityAt: null,
    lastActivityAt: null,
    lastCheckpointAt: null,
    peakConnections: 0,
    nodes: [],
    unsaved: false,
    damaged: false,
    storageDamage: [],
    writable: true,
  };
}
