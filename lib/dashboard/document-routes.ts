import * as Y from 'yjs';
import { UpdateRejectedError } from '../core/errors.js';
import type { Symphony } from '../core/symphony.js';
import { BadRequestError, failure, type DashboardRequest, type DashboardResponse } from './http.js';
import { mediaType, readBody } from './request-body.js';

const binaryHeaders = {
  'content-type': 'application/octet-stream',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/**
 * `GET /api/rooms/:room/update[?stateVector=<base64>]`: the document as one Yjs update, or only
 * what a peer at that state vector lacks; 404 for a room that does not exist.
 */
export async function readRoomUpdate(symphony: Symphony, name: string, query: URLSearchParams): Promise<DashboardResponse> {
  const encoded = query.get('stateVector');
  const stateVector = encoded === null ? undefined : decodeStateVector(encoded);
  const state = await symphony.readState(name, { stateVector });
  if (state === null) return failure(404, 'room not found', { code: 'room_not_found', room: name });
  return { status: 200, headers: binaryHeaders, body: Buffer.from(state.buffer, state.byteOffset, state.byteLength) };
}

/**
 * `POST /api/rooms/:room/update` with an `application/octet-stream` body: applied through
 * `symphony.applyUpdate`, so it passes the checks a client's update passes; 204 once applied.
 * The body is capped at `limits.maxMessageBytes`, the size a client's message may have.
 */
export async function writeRoomUpdate(symphony: Symphony, request: DashboardRequest, name: string): Promise<DashboardResponse> {
  if (mediaType(request.raw) !== 'application/octet-stream') {
    return failure(415, 'the body must be a Yjs update sent as application/octet-stream', { code: 'unsupported_media_type' });
  }
  const update = await readBody(request.raw, symphony.limits.maxMessageBytes);
  if (update.byteLength === 0) throw new BadRequestError('the body is empty: send a Yjs update');
  try {
    await symphony.applyUpdate(name, update, { reason: 'rest' });
  } catch (error) {
    if (error instanceof UpdateRejectedError) return failure(error.status, error.message, { code: restCode(error.code), room: name });
    throw error;
  }
  return { status: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

/** `SYMPHONY_ERR_UPDATE_TOO_LARGE` → `update_too_large`: the REST API's codes are lower case like its other codes. */
function restCode(code: string): string {
  return code.replace(/^SYMPHONY_ERR_/, '').toLowerCase();
}

/** Standard or URL-safe base64, padded or not; anything else is a 400, as is a value that is not a Yjs state vector. */
function decodeStateVector(encoded: string): Uint8Array {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(encoded) || encoded.replace(/=+$/, '').length % 4 === 1) {
    throw new BadRequestError('"stateVector" must be base64');
  }
  const bytes = Buffer.from(encoded, 'base64');
  try {
    Y.decodeStateVector(bytes);
  } catch {
    throw new BadRequestError('"stateVector" is not a Yjs state vector');
  }
  return bytes;
}
