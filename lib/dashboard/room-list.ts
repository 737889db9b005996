import type { Logger } from '../core/logger.js';
import type { MetadataStore, RoomRecord, RoomSortKey, RoomSummary } from './metadata/metadata-store.js';
import { roomComparator } from './metadata/room-order.js';
import type { Symphony } from '../core/symphony.js';
import type { StorageDamage } from '../core/storage/document-store.js';
import type { RoomInfo } from '../core/types.js';
import { earliestOrNull, latestOrNull } from '../util/dates.js';
import { BadRequestError } from './http.js';
import { unrecordedStoredRooms } from './stored-rooms.js';

/** A room as the dashboard lists it: live figures when it is loaded here, recorded ones otherwise. */
export interface RoomListItem {
  readonly name: string;
  /** Loaded in this node's memory. */
  readonly loaded: boolean;
  /** Open connections on this node. */
  readonly connections: number;
  /** Live estimate when loaded; size at the last record otherwise; null if never measured. */
  readonly documentBytes: number | null;
  readonly firstActivityAt: Date | null;
  readonly lastActivityAt: Date | null;
  readonly lastCheckpointAt: Date | null;
  readonly peakConnections: number;
  /** Nodes with open sessions in the room (this one when it is loaded here); several in cluster mode. */
  readonly nodes: readonly string[];
  /** Has changes no checkpoint covers yet (loaded rooms only). */
  readonly unsaved: boolean;
  /** Served from damaged storage: the damaged files, and where their bytes are kept (loaded rooms only). */
  readonly damaged: boolean;
  readonly storageDamage: readonly StorageDamage[];
  /** False while the room's updates cannot be written and are refused (loaded rooms only). */
  readonly writable: boolean;
}

export interface RoomListParams {
  readonly prefix: string;
  readonly sort: RoomSortKey;
  readonly descending: boolean;
  readonly offset: number;
  readonly limit: number;
}

/** One page of the dashboard's room list, with the query that produced it. */
export interface RoomListResult {
  readonly rooms: RoomListItem[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly sort: RoomSortKey;
  readonly order: 'asc' | 'desc';
  /** False when the metadata store could not be read: the list then holds the loaded rooms only. */
  readonly metadata: { readonly available: boolean; readonly error?: string };
}

const sortKeys: readonly RoomSortKey[] = ['name', 'lastActivity', 'documentBytes', 'connections'];
const DEFAULT_PAGE_SIZE = 50;
/** Longer than any room name is allowed to be: a longer prefix is a mistake, not a search. */
const MAX_PREFIX_LENGTH = 1_024;

/** `?prefix=&sort=&order=&offset=&limit=`, validated: a bad value is a 400, never a silent default. */
export function parseRoomListParams(query: URLSearchParams, maxPageSize: number): RoomListParams {
  const prefix = query.get('prefix') ?? '';
  if (prefix.length > MAX_PREFIX_LENGTH) throw new BadRequestError(`"prefix" is longer than ${MAX_PREFIX_LENGTH} characters`);
  const sort = (query.get('sort') ?? 'lastActivity') as RoomSortKey;
  if (!sortKeys.includes(sort)) throw new BadRequestError(`"sort" must be one of ${sortKeys.join(', ')}`);
  const order = query.get('order') ?? (sort === 'name' ? 'asc' : 'desc');
  if (order !== 'asc' && order !== 'desc') throw new BadRequestError('"order" must be asc or desc');
  const offset = integerParam(query, 'offset', 0);
  const limit = integerParam(query, 'limit', Math.min(DEFAULT_PAGE_SIZE, maxPageSize));
  if (limit < 1 || limit > maxPageSize) throw new BadRequestError(`"limit" must be between 1 and ${maxPageSize}`);
  return { prefix, sort, descending: order === 'desc', offset, limit };
}

function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new BadRequestError(`"${name}" must be a non-negative integer below 10^9`);
  return Number(raw);
}

/**
 * One page of every room: the ones loaded here (from memory), the ones only the metadata store
 * knows, and stored ones neither knows (`unrecordedStoredRooms`), as one list in one order. The
 * first and the last are held in memory (`inMemory`).
 *
 * Both sources are sorted the same way and never share a room (the rooms in memory are excluded
 * from the store's query), so the page is a merge. The merged position `offset` is preceded by at
 * most `inMemory.length` rooms from memory, hence by at least `offset - inMemory.length` stored ones: the
 * store is asked for the rows from there on, at most `inMemory.length + limit` of them, however
 * deep the page.
 */
export async function listRooms(symphony: Symphony, store: MetadataStore, params: RoomListParams, logger: Logger): Promise<RoomListResult> {
  const { prefix, sort, descending, offset, limit } = params;
  const compare = roomComparator(sort, descending);
  const live = symphony
    .rooms()
    .filter((room) => room.name.startsWith(prefix))
    .map((room) => liveItem(room, symphony.nodeId));
  // Rooms only the document store knows join the loaded ones: both are known in full here.
  const unrecorded = await unrecordedStoredRooms(symphony, store, prefix, new Set(live.map((room) => room.name)), logger);
  const inMemory = [...live, ...unrecorded].sort(compare);
  const base = { offset, limit, sort, order: descending ? 'desc' : 'asc' } as const;

  const storedStart = Math.max(0, offset - inMemory.length);
  let stored: { rooms: RoomListItem[]; total: number };
  try {
    const page = await store.listRooms({ prefix, sort, descending, offset: storedStart, limit: offset + limit - storedStart, exclude: inMemory.map((room) => room.name) });
    stored = { rooms: page.rooms.map(storedItem), total: page.total };
  } catch (error) {
    logger.warn({ err: error, store: store.kind }, 'room list served from memory only: the metadata store failed');
    return { ...base, rooms: inMemory.slice(offset, offset + limit), total: inMemory.length, metadata: unavailable(error) };
  }

  const page: RoomListItem[] = [];
  let li = 0;
  let si = 0;
  if (storedStart > 0 && stored.rooms.length > 0) {
    while (li < inMemory.length && compare(inMemory[li], stored.rooms[0]) < 0) li++;
  }
  let position = storedStart > 0 ? storedStart + li : 0;
  if (storedStart === 0 || stored.rooms.length > 0) {
    while (page.length < limit && (li < inMemory.length || si < stored.rooms.length)) {
      const takeMemory = si >= stored.rooms.length || (li < inMemory.length && compare(inMemory[li], stored.rooms[si]) < 0);
      const next = takeMemory ? inMemory[li++] : stored.rooms[si++];
      if (position++ >= offset) page.push(next);
    }
  }

  // The page's rows, completed with their full records: history for loaded rooms, nodes for all.
  let records = new Map<string, RoomRecord>();
  let metadata: RoomListResult['metadata'] = { available: true };
  try {
    records = new Map((await store.getRooms(page.map((room) => room.name))).map((record) => [record.name, record]));
  } catch (error) {
    metadata = unavailable(error);
  }
  const rooms = page.map((room) => {
    const record = records.get(room.name);
    if (!record) return room;
    return room.loaded ? combine(room, record) : storedItem(record);
  });
  return { ...base, rooms, total: inMemory.length + stored.total, metadata };
}

export function liveItem(room: RoomInfo, nodeId: string): RoomListItem {
  return {
    name: room.name,
    loaded: true,
    connections: room.connections,
    documentBytes: room.documentBytes,
    firstActivityAt: room.loadedAt,
    lastActivityAt: room.lastActivityAt,
    lastCheckpointAt: room.lastCheckpointAt,
    peakConnections: room.connections,
    nodes: [nodeId],
    unsaved: room.unsaved,
    damaged: room.damaged,
    storageDamage: room.storageDamage,
    writable: room.writable,
  };
}

/** A room only the store knows; its nodes are filled in once it is on the page (`getRooms`). */
export function storedItem(record: RoomSummary & { nodes?: readonly string[] }): RoomListItem {
  return {
    name: record.name,
    loaded: false,
    connections: 0,
    documentBytes: record.documentBytes,
    firstActivityAt: record.firstActivityAt,
    lastActivityAt: record.lastActivityAt,
    lastCheckpointAt: record.lastCheckpointAt,
    peakConnections: record.peakConnections,
    nodes: record.nodes ?? [],
    unsaved: false,
    damaged: false,
    storageDamage: [],
    writable: true,
  };
}

/** A loaded room completed with its history: live figures win, recorded ones fill in. */
export function combine(live: RoomListItem, record: RoomRecord): RoomListItem {
  return {
    ...live,
    firstActivityAt: earliestOrNull(live.firstActivityAt, record.firstActivityAt),
    lastCheckpointAt: latestOrNull(live.lastCheckpointAt, record.lastCheckpointAt),
    peakConnections: Math.max(live.peakConnections, record.peakConnections),
    nodes: [...new Set([...live.nodes, ...record.nodes])].sort(),
  };
}

export function unavailable(error: unknown): { available: false; error: string } {
  return { available: false, error: error instanceof Error ? error.message : String(error) };
}
