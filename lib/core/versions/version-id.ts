import { randomBytes } from 'node:crypto';

/** Milliseconds since the epoch in base 36, padded: 9 digits last until the year 5138, so ids sort by time as strings. */
const TIME_DIGITS = 9;
const VERSION_ID = /^[0-9a-z]{9}-[0-9a-f]{8}$/;

/** A new version id: sortable by creation time, unique thanks to 32 random bits. */
export function createVersionId(createdAt: Date): string {
  return `${createdAt.getTime().toString(36).padStart(TIME_DIGITS, '0')}-${randomBytes(4).toString('hex')}`;
}

/** True for ids `createVersionId` makes. Version stores use ids in file names and keys: nothing else may reach them. */
export function isVersionId(id: unknown): id is string {
  return typeof id === 'string' && VERSION_ID.test(id);
}
