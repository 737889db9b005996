import { mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { writeFileAtomically } from '../storage/atomic-file.js';
import { roomFileName } from '../storage/room-file-name.js';
import { isVersionId } from './version-id.js';
import type { VersionStore } from './version-store.js';
import type { VersionInfo } from './version-types.js';

const STATE = '.bin';
const INFO = '.json';

/** What a version's `.json` file holds. */
interface VersionRecord {
  readonly id: string;
  readonly room: string;
  readonly createdAt: string;
  readonly kind: 'auto' | 'named';
  readonly name?: string;
  readonly createdBy?: string;
  readonly bytes: number;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Versions beside the FileStore's documents: `<directory>/<room folder>/versions/<id>.bin` (the
 * state) and `<id>.json` (its description). The state is written first and the description
 * last, each atomically, so a listed version is always readable; a crash in between leaves an
 * unlisted `.bin` that the next `deleteAll` removes.
 */
export class FileVersionStore implements VersionStore {
  readonly directory: string;

  constructor(options: { directory: string }) {
    if (!options || typeof options.directory !== 'string' || options.directory === '') {
      throw new ConfigurationError('FileVersionStore needs a "directory" option');
    }
    this.directory = resolve(options.directory);
  }

  async put(info: VersionInfo, state: Uint8Array): Promise<void> {
    const folder = this.folder(info.room);
    await mkdir(folder, { recursive: true });
    const record: VersionRecord = { ...info, createdAt: info.createdAt.toISOString() };
    await writeFileAtomically(join(folder, info.id + STATE), state);
    await writeFileAtomically(join(folder, info.id + INFO), JSON.stringify(record));
  }

  async list(room: string): Promise<VersionInfo[]> {
    const folder = this.folder(room);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const ids = names.filter((name) => name.endsWith(INFO)).map((name) => name.slice(0, -INFO.length)).filter(isVersionId);
    const infos = await Promise.all(ids.map((id) => this.readInfo(folder, id)));
    return infos.filter((info): info is VersionInfo => info !== null).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  async read(room: string, id: string): Promise<Uint8Array | null> {
    if (!isVersionId(id)) return null;
    const folder = this.folder(room);
    try {
      // The description is written last: without it the state may be incomplete.
      await readFile(join(folder, id + INFO));
      return await readFile(join(folder, id + STATE));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(room: string, ids: readonly string[]): Promise<void> {
    const folder = this.folder(room);
    for (const id of ids.filter(isVersionId)) {
      // The description first: a crash in between leaves an unlisted state, never a listed version without one.
      await unlinkIfExists(join(folder, id + INFO));
      await unlinkIfExists(join(folder, id + STATE));
    }
  }

  async deleteAll(room: string): Promise<void> {
    await rm(this.folder(room), { recursive: true, force: true });
  }

  private folder(room: string): string {
    return join(this.directory, roomFileName(room), 'versions');
  }

  private async readInfo(folder: string, id: string): Promise<VersionInfo | null> {
    let record: VersionRecord;
    try {
      record = JSON.parse(await readFile(join(folder, id + INFO), 'utf8')) as VersionRecord;
    } catch (error) {
      // Deleted by a concurrent thinning between readdir and read.
      if (isMissing(error)) return null;
      throw error;
    }
    return { ...record, createdAt: new Date(record.createdAt) };
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
