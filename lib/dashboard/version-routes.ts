import * as Y from 'yjs';
import { documentToJSON } from '../core/document/to-json.js';
import type { Symphony } from '../core/symphony.js';
import { BadRequestError, failure, json, type DashboardRequest, type DashboardResponse } from './http.js';
import { mediaType, readBody } from './request-body.js';

/** A version's name or author longer than this is a mistake, not a label. */
const MAX_LABEL_LENGTH = 200;
/** `{ "name": "…", "createdBy": "…" }` needs far less; a larger body is refused (413) unread. */
const MAX_VERSION_REQUEST_BYTES = 4_096;

/** `GET /api/rooms/:room/versions`: `{ room, versions }`, newest first. */
export async function listRoomVersions(symphony: Symphony, name: string): Promise<DashboardResponse> {
  return json(200, { room: name, versions: await symphony.listVersions(name) });
}

/**
 * `POST /api/rooms/:room/versions` with an optional JSON body `{ "name"?, "createdBy"? }`: 201 and
 * the version; 404 for a room that does not exist (a version of nothing would restore nothing).
 */
export async function createRoomVersion(symphony: Symphony, request: DashboardRequest, name: string): Promise<DashboardResponse> {
  const body = await readJsonObject(request);
  const label = optionalLabel(body, 'name');
  const createdBy = optionalLabel(body, 'createdBy');
  if (symphony.room(name) === undefined && (await symphony.readState(name)) === null) {
    return failure(404, 'room not found', { code: 'room_not_found', room: name });
  }
  const version = await symphony.createVersion(name, { name: label, createdBy });
  return json(201, version, { location: `${request.originalPath}/${encodeURIComponent(version.id)}/document` });
}

/** `GET /api/rooms/:room/versions/:id/document`: `{ room, version, document }`, the version's content as JSON. */
export async function versionDocument(symphony: Symphony, name: string, id: string): Promise<DashboardResponse> {
  const stored = await symphony.readVersion(name, id);
  if (stored === null) return failure(404, 'version not found', { code: 'version_not_found', room: name, version: id });
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, stored.state);
    return json(200, { room: name, version: stored.info, document: documentToJSON(doc) });
  } finally {
    doc.destroy();
  }
}

/** `POST /api/rooms/:room/versions/:id/restore`: 200 `{ room, version }` once the room's document has the version's content. */
export async function restoreRoomVersion(symphony: Symphony, request: DashboardRequest, name: string, id: string): Promise<DashboardResponse> {
  const body = await readJsonObject(request);
  const restoredBy = optionalLabel(body, 'restoredBy');
  const version = await symphony.restoreVersion(name, id, { restoredBy });
  if (version === null) return failure(404, 'version not found', { code: 'version_not_found', room: name, version: id });
  return json(200, { room: name, version });
}

/** A version id from its path segment: the characters version ids are made of, or a 400. */
export function decodeVersionId(segment: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(segment)) throw new BadRequestError('invalid version id');
  return segment;
}

/** The JSON object a POST carries, `{}` when it carries none; one a body parser (`express.json()`) already parsed is taken as is. */
async function readJsonObject(request: DashboardRequest): Promise<Record<string, unknown>> {
  const parsedBefore = (request.raw as typeof request.raw & { body?: unknown }).body;
  if (request.raw.readableEnded && typeof parsedBefore === 'object' && parsedBefore !== null && !Buffer.isBuffer(parsedBefore) && !Array.isArray(parsedBefore)) {
    return parsedBefore as Record<string, unknown>;
  }
  const raw = await readBody(request.raw, MAX_VERSION_REQUEST_BYTES);
  if (raw.byteLength === 0) return {};
  if (mediaType(request.raw) !== 'application/json') throw new BadRequestError('the body must be JSON (application/json)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequestError('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function optionalLabel(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH) throw new BadRequestError(`"${field}" must be a string of at most ${MAX_LABEL_LENGTH} characters`);
  return value;
}
