import { InvalidRoomNameError } from '../errors.js';

// Control characters (C0, DEL, C1) have no place in a name shown on a dashboard or in logs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The room name of an upgrade request: the URL path after `basePath`, percent-decoded. Returns
 * null when the request is not for `basePath` at all (the host app may have its own sockets), and
 * throws `InvalidRoomNameError` for a name that is empty, too long, not UTF-8 or holds control
 * characters. Any other name is valid: stores map names to storage keys safely themselves.
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
  validateRoomName(name, maxLength);
  return name;
}

export function validateRoomName(name: string, maxLength: number): void {
  if (name.length === 0) throw new InvalidRoomNameError('empty');
  if (name.length > maxLength) throw new InvalidRoomNameError(`longer than ${maxLength} characters`);
  if (CONTROL_CHARACTERS.test(name)) throw new InvalidRoomNameError('contains control characters');
}

/** The `token` query parameter, which y-websocket's `params: { token }` option sends. */
export function tokenFromUrl(url: string | undefined): string | null {
  const query = (url ?? '').split('?')[1];
  return query === undefined ? null : new URLSearchParams(query).get('token');
}
