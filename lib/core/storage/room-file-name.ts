import { createHash } from 'node:crypto';

/**
 * Maps a room name to a single, safe path segment. The name is never used as a path: a readable
 * prefix (letters, digits, `-`, `_` only) helps humans browsing the data directory, and a hash of
 * the full name makes it unique. `../`, `%2F`, NUL, very long or unicode names cannot escape or
 * collide.
 */
export function roomFileName(room: string): string {
  const readable = room.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
  const hash = createHash('sha256').update(room, 'utf8').digest('hex').slice(0, 32);
  return `${readable}-${hash}`;
}
