import { readdir } from 'node:fs/promises';

/**
 * The files of one room's folder. Generations order them: the snapshot of generation G holds every
 * update journaled in generations up to G; the journal of generation G holds updates appended
 * after the snapshot of G - 1 was cut.
 *
 * - `snapshot-<G>.bin`: a checkpoint, one framed record (see journal-records.ts).
 * - `journal-<G>.v2.log`: the updates since, as framed records.
 * - `snapshot.bin`, `journal-<G>.log`: the layout before generations and framing (a raw snapshot
 *   counted as generation 0, journals without a magic); still read, never written.
 * - `damaged-<name>`: bytes that failed to load, kept for inspection. Never read, never deleted.
 * - `*.tmp`: a checkpoint in progress, or left by a crash during one; removed at load.
 */
export interface StoredFile {
  readonly name: string;
  readonly generation: number;
  /** Written before snapshots were framed and journals had a magic. */
  readonly legacy: boolean;
}

export interface RoomFolderListing {
  /** Newest first. */
  readonly snapshots: StoredFile[];
  /** Oldest first. */
  readonly journals: StoredFile[];
  readonly temporaries: string[];
  /** The highest generation any file, quarantined ones included, was written for. */
  readonly highestGeneration: number;
}

const SNAPSHOT = /^snapshot-(\d+)\.bin$/;
const JOURNAL = /^journal-(\d+)\.v2\.log$/;
const LEGACY_SNAPSHOT = 'snapshot.bin';
const LEGACY_JOURNAL = /^journal-(\d+)\.log$/;
const QUARANTINED = /^damaged-(?:snapshot|journal)-(\d+)\./;
const TEMPORARY = /\.tmp$/;

export const snapshotName = (generation: number): string => `snapshot-${generation}.bin`;
export const journalName = (generation: number): string => `journal-${generation}.v2.log`;
export const quarantineName = (name: string): string => `damaged-${name}`;

export function parseRoomFolder(names: readonly string[]): RoomFolderListing {
  const snapshots: StoredFile[] = [];
  const journals: StoredFile[] = [];
  const temporaries: string[] = [];
  let highestGeneration = 0;
  for (const name of names) {
    let match: RegExpExecArray | null;
    if ((match = SNAPSHOT.exec(name))) snapshots.push({ name, generation: Number(match[1]), legacy: false });
    else if ((match = JOURNAL.exec(name))) journals.push({ name, generation: Number(match[1]), legacy: false });
    else if ((match = LEGACY_JOURNAL.exec(name))) journals.push({ name, generation: Number(match[1]), legacy: true });
    else if (name === LEGACY_SNAPSHOT) snapshots.push({ name, generation: 0, legacy: true });
    else if (TEMPORARY.test(name)) temporaries.push(name);
    else if ((match = QUARANTINED.exec(name))) highestGeneration = Math.max(highestGeneration, Number(match[1]));
  }
  for (const file of [...snapshots, ...journals]) highestGeneration = Math.max(highestGeneration, file.generation);
  snapshots.sort((a, b) => b.generation - a.generation);
  journals.sort((a, b) => a.generation - b.generation);
  return { snapshots, journals, temporaries, highestGeneration };
}

export async function readdirIfExists(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
