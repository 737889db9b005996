import { constants } from 'node:fs';
import { copyFile, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as Y from 'yjs';
import type { Logger } from '../logger.js';
import type { StorageDamage } from './document-store.js';
import { decodeLegacyRecords, decodeRecords, decodeSingleRecord } from './journal-records.js';
import { parseRoomFolder, quarantineName, type StoredFile } from './room-folder.js';

export interface RoomFolderContents {
  /** The merged state, or null for a room with nothing stored. */
  readonly state: Uint8Array | null;
  readonly damage: StorageDamage[];
  /** The highest generation found: new journal writes go to a later one, never after a torn record. */
  readonly highestGeneration: number;
}

/** The stored data of a room cannot be read, and no older generation can stand in for it. */
export class UnreadableRoomError extends Error {
  constructor(folder: string, cause: unknown) {
    super(`the stored state in "${folder}" cannot be read`, { cause });
    this.name = 'UnreadableRoomError';
  }
}

/**
 * Reads one room's folder: the newest snapshot that loads, and every journal after it.
 *
 * A snapshot that fails (its checksum, or a state Yjs cannot parse) is passed over for the
 * previous generation, which the checkpoint kept beside it together with the journals since, and
 * is renamed aside. A journal with damaged records serves its intact ones and is copied aside
 * before anything may delete it. Temporary files of interrupted checkpoints are removed. When no
 * snapshot loads at all the read fails: serving the room without it would serve it empty.
 */
export async function readRoomFolder(dataDirectory: string, folder: string, names: readonly string[], logger: Logger): Promise<RoomFolderContents> {
  const directory = join(dataDirectory, folder);
  const listing = parseRoomFolder(names);
  await Promise.all(listing.temporaries.map((name) => unlink(join(directory, name)).catch(() => undefined)));

  const damage: StorageDamage[] = [];
  const failedSnapshots: { file: StoredFile; bytes: number; cause: unknown }[] = [];
  let snapshot: { file: StoredFile; state: Uint8Array } | null = null;
  for (const file of listing.snapshots) {
    const bytes = await readFile(join(directory, file.name));
    const state = file.legacy ? bytes : decodeSingleRecord(bytes);
    const cause = state === null ? new Error('checksum mismatch or incomplete record') : unparseable(state);
    if (state !== null && cause === null) {
      snapshot = { file, state };
      break;
    }
    failedSnapshots.push({ file, bytes: bytes.byteLength, cause });
  }
  if (snapshot === null && failedSnapshots.length > 0 && !journalsFromTheStart(listing.journals, listing.snapshots)) {
    throw new UnreadableRoomError(folder, failedSnapshots[0].cause);
  }
  for (const failed of failedSnapshots) {
    // Renamed, not copied: no later read may pick it again over the generation that loaded.
    const quarantinedAs = quarantineName(failed.file.name);
    await rename(join(directory, failed.file.name), join(directory, quarantinedAs));
    damage.push({ kind: 'snapshot', file: join(folder, failed.file.name), quarantinedAs: join(folder, quarantinedAs), damagedBytes: failed.bytes });
    logger.error(
      { folder, file: failed.file.name, quarantinedAs, err: failed.cause, loadedGeneration: snapshot?.file.generation ?? 'none: every journal replayed' },
      'a snapshot failed to load: served the previous generation and the journals after it',
    );
  }

  const updates: Uint8Array[] = snapshot ? [snapshot.state] : [];
  const after = snapshot?.file.generation ?? -1;
  for (const file of listing.journals) {
    if (file.generation <= after) continue;
    const bytes = await readFile(join(directory, file.name));
    const decoded = file.legacy ? decodeLegacyRecords(bytes) : decodeRecords(bytes);
    if (decoded.tornBytes > 0) logger.warn({ folder, file: file.name, tornBytes: decoded.tornBytes }, 'ignored a torn last journal record');
    if (decoded.damagedBytes > 0) {
      const quarantinedAs = quarantineName(file.name);
      await copyQuarantine(join(directory, file.name), join(directory, quarantinedAs));
      damage.push({ kind: 'journal', file: join(folder, file.name), quarantinedAs: join(folder, quarantinedAs), damagedBytes: decoded.damagedBytes });
      logger.error(
        { folder, file: file.name, quarantinedAs, damagedBytes: decoded.damagedBytes, intactRecords: decoded.updates.length },
        'a journal has damaged records: served the intact ones and kept a copy of the file',
      );
    }
    updates.push(...decoded.updates);
  }
  const state = updates.length === 0 ? null : updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
  return { state, damage, highestGeneration: listing.highestGeneration };
}

/**
 * True while the journals hold the room's whole history: the first generation is still there, so
 * no checkpoint has pruned anything yet (a checkpoint keeps the journals after the previous
 * snapshot, and the first snapshot has none before it). A legacy snapshot predates them all.
 */
function journalsFromTheStart(journals: readonly StoredFile[], snapshots: readonly StoredFile[]): boolean {
  return journals.some((file) => !file.legacy && file.generation === 1) && !snapshots.some((file) => file.legacy);
}

/** Null when Yjs can parse the state; the parse error otherwise. Cheaper than applying it: nothing is integrated. */
function unparseable(state: Uint8Array): unknown {
  try {
    Y.encodeStateVectorFromUpdate(state);
    return null;
  } catch (error) {
    return error;
  }
}

async function copyQuarantine(from: string, to: string): Promise<void> {
  try {
    // Exclusive: a journal is never written again once loaded, so an existing copy holds the same bytes.
    await copyFile(from, to, constants.COPYFILE_EXCL);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}
