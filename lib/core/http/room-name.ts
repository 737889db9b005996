import { InvalidRoomNameError } from '../errors.js';

// Control characters (C0, DEL, C1) have no place in a name shown on a dashboard or in logs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// Format characters (bidi overrides, zero-width joiners and spaces, the BOM) are invisible: a name
// holding one looks like another room's name on every screen.
const FORMAT_CHARACTERS = /\p{Cf}/u;

/**
 * The room name of an upgrade request: the URL path after `basePath`, percent-decoded and
 * normalized (see `normalizeRoomName`). Returns null when the request is not for `basePath` at all
 * (the host app may have its own sockets), and throws `InvalidRoomNameError` for a name that is
 * empty, too long, not UTF-8 or holds control or format characters. Any other name is valid:
 * stores map names to storage keys safely themselves.
 */
export function roomNameFromUrl(url: string | undefined, basePath: string, maxLength: number): string | null {
  const pathname = (url ?? '/').split('?', 1)[0];
  if (!pathname.startsWith(`${basePath}/`)) return null;
  const encoded = pathname.slice(basePath.length + 1);
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    throw new InvalidRoomNameError('not valid percent-encoded UTF-8');
  }
  return normalizeRoomName(name, maxLength);
}

/**
 * A room name in Unicode normalization form C, so "é" typed as one code point or as "e" and a
 * combining accent (as macOS file names and some keyboards produce it) is one room, not two that
 * look alike. Throws `InvalidRoomNameError` for a name that is empty, too long or holds control or
 * format characters.
 */
export function normalizeRoomName(name: string, maxLength: number): string {
  const normalized = name.normalize('NFC');
  if (normalized.length === 0) throw new InvalidRoomNameError('empty');
  if (normalized.length > maxLength) throw new InvalidRoomNameError(`longer than ${maxLength} characters`);
  if (CONTROL_CHARACTERS.test(normalized)) throw new InvalidRoomNameError('contains control characters');
  if (FORMAT_CHARACTERS.test(normalized)) throw new InvalidRoomNameError('contains invisible format characters');
  return normalized;
}

/** The `token` query parameter, which y-websocket's `params: { token }` option sends. */
export function tokenFromUrl(url: string | undefined): string | null {
  const query = (url ?? '').split('?')[1];
  return query === undefined ? null : new URLSearchParams(query).get('token');
}
