import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from './atomic-file.js';

/**
 * A room's folder name is a hash (see `roomFileName`), so the folder also records the room's name
 * in a small file: listing stored rooms reads these back.
 */
const ROOM_NAME = 'room-name.txt';

/** Records the room's name in its folder (which must exist). */
export function recordRoomName(folder: string, room: string): Promise<void> {
  return writeFileAtomically(join(folder, ROOM_NAME), room);
}

/** True when a folder's listing shows its room name was recorded. */
export function hasRoomName(names: readonly string[]): boolean {
  return names.includes(ROOM_NAME);
}

/**
 * Names of the rooms stored under `directory`, ascending, those starting with `prefix` and after
 * `after`, at most `limit`. Folders without a recorded name (written before names were recorded,
 * and not loaded since) are left out.
 */
export async function listRoomNames(directory: string, options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
  let folders: string[];
  try {
    folders = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names = await Promise.all(
    folders.map(async (folder) => {
      try {
        return await readFile(join(directory, folder, ROOM_NAME), 'utf8');
      } catch {
        return null;
      }
    }),
  );
  const { prefix = '', after, limit } = options;
  return names
    .filter((name): name is string => name !== null && name.startsWith(prefix) && (after === undefined || name > after))
    .sort()
    .slice(0, limit);
}
