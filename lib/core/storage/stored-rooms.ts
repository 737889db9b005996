import { InvalidArgumentError } from '../errors.js';
import type { DocumentStore } from './document-store.js';

/** One page of stored rooms; `next` is the `after` of the following page, null on the last. */
export interface StoredRoomsPage {
  readonly rooms: string[];
  readonly next: string | null;
}

/**
 * A page of the rooms in `store`, ascending by name. A store that cannot list (no `list`) is
 * answered with the rooms loaded on this node, the only ones known.
 */
export async function listStoredRooms(
  store: DocumentStore,
  loadedRooms: () => Iterable<string>,
  options: { prefix?: string; after?: string; limit: number },
): Promise<StoredRoomsPage> {
  const { prefix, after, limit } = options;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError('"limit" must be a positive integer');
  // One more than asked: whether it exists says if there is a next page.
  const found = store.list
    ? await store.list({ prefix, after, limit: limit + 1 })
    : [...loadedRooms()]
        .filter((room) => (prefix === undefined || room.startsWith(prefix)) && (after === undefined || room > after))
        .sort()
        .slice(0, limit + 1);
  const rooms = found.slice(0, limit);
  return { rooms, next: found.length > limit ? rooms[rooms.length - 1] : null };
}
