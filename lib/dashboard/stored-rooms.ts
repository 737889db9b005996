import type { Logger } from '../core/logger.js';
import type { Symphony } from '../core/symphony.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import type { RoomListItem } from './room-list.js';

/**
 * Most document-store names one listing reads. The metadata store knows the rooms this deployment
 * served; the document store adds the ones it forgot (an embedded metadata store after a restart),
 * and past this many the list shows the first ones by name rather than reading the whole store
 * on every page.
 */
export const MAX_STORED_ROOMS_SCANNED = 10_000;
const STORED_ROOMS_PAGE = 1_000;

/**
 * Rooms the document store holds that are neither loaded here nor known to the metadata store,
 * as list items with no recorded figures (sizes and times unknown until the room is loaded).
 */
export async function unrecordedStoredRooms(symphony: Symphony, metadata: MetadataStore, prefix: string, loaded: ReadonlySet<string>, logger: Logger): Promise<RoomListItem[]> {
  const names: string[] = [];
  try {
    let after: string | undefined;
    do {
      const page = await symphony.storedRooms({ prefix, after, limit: STORED_ROOMS_PAGE });
      for (const name of page.rooms) if (!loaded.has(name)) names.push(name);
      after = page.next ?? undefined;
    } while (after !== undefined && names.length < MAX_STORED_ROOMS_SCANNED);
  } catch (error) {
    logger.warn({ err: error }, 'room list without unrecorded stored rooms: the document store could not be listed');
    return [];
  }
  if (names.length === 0) return [];
  let known = new Set<string>();
  try {
    known = new Set((await metadata.getRooms(names)).map((record) => record.name));
  } catch {
    // The listing reports the metadata store's failure itself; the stored names still show.
  }
  return names.filter((name) => !known.has(name)).map(storedOnlyItem);
}

function storedOnlyItem(name: string): RoomListItem {
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
    // Known only once loaded: a stored room is not read to list it.
    damaged: false,
    storageDamage: [],
    writable: true,
  };
}
