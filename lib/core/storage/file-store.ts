import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as Y from 'yjs';
import { ConfigurationError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { DocumentStore } from './document-store.js';
import { decodeRecords, encodeRecords } from './journal-records.js';
import { roomFileName } from './room-file-name.js';
import { hasRoomName, listRoomNames, recordRoomName } from './room-folders.js';

/** Options of `FileStore`; only `directory` is required. */
export interface FileStoreOptions {
  /** The data directory; created if missing. */
  directory: string;
  /**
   * How long appended updates wait before they are written to the journal, in milliseconds.
   * Batching keeps the write rate per room bounded; 10 ms stays well inside the guarantee that an
   * update that reached the server 100 ms before the process was killed is never lost.
   * @default 10
   */
  journalFlushIntervalMs?: number;
  /**
   * fsync each journal write. Without it, journal writes survive a crash of the process (the
   * kernel holds them) but not a power loss of the machine; checkpoints are always fsynced.
   * @default false
   */
  syncJournal?: boolean;
  /**
   * Journals kept open between writes. Beyond it, the least recently opened is closed (and
   * reopened when its room writes again), so thousands of loaded rooms never exhaust file handles.
   * @default 1024
   */
  maxOpenJournals?: number;
  logger?: Logger;
}

const SNAPSHOT = 'snapshot.bin';

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.byteLength; ) written += writeSync(fd, bytes, written);
}

async function readdirIfExists(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
const JOURNAL = /^journal-(\d+)\.log$/;
const journalName = (generation: number) => `journal-${generation}.log`;

interface RoomFiles {
  readonly room: string;
  readonly directory: string;
  /** True once the room's folder exists: creating it again on every write would double the syscalls. */
  directoryExists: boolean;
  /** Generation the next journal writes go to. Each checkpoint starts a new one. */
  generation: number;
  /** The open journal of `journalGeneration`, kept open between writes (one syscall per batch). */
  journal: FileHandle | null;
  journalGeneration: number;
  pending: Uint8Array[];
  flushTimer: NodeJS.Timeout | null;
  /** Serialises this room's file operations: journal writes, checkpoints, release. */
  queue: Promise<void>;
}

/**
 * The embedded document store: one folder per room in a data directory, holding a snapshot and an
 * append-only journal of the updates since. A checkpoint writes the snapshot atomically (temporary
 * file, fsync, rename, fsync of the folder) and only then deletes the journal generations it
 * covers, so a crash at any point leaves either the old or the new snapshot plus every journaled
 * update. New journal writes after a restart go to a fresh file, never after a torn record.
 */
export class FileStore implements DocumentStore {
  readonly directory: string;
  private readonly flushIntervalMs: number;
  private readonly syncJournal: boolean;
  private readonly logger: Logger;
  private readonly rooms = new Map<string, RoomFiles>();
  private readonly openJournals = new Set<RoomFiles>();
  private readonly maxOpenJournals: number;
  private ready: Promise<void> | null = null;

  constructor(options: FileStoreOptions) {
    if (!options || typeof options.directory !== 'string' || options.directory === '') {
      throw new ConfigurationError('FileStore needs a "directory" option');
    }
    this.directory = resolve(options.directory);
    this.flushIntervalMs = options.journalFlushIntervalMs ?? 10;
    this.syncJournal = options.syncJournal ?? false;
    this.logger = options.logger ?? silentLogger;
    this.maxOpenJournals = options.maxOpenJournals ?? 1_024;
    if (!(this.flushIntervalMs >= 0 && this.flushIntervalMs <= 100)) {
      throw new ConfigurationError('FileStore "journalFlushIntervalMs" must be between 0 and 100');
    }
  }

  async load(room: string): Promise<Uint8Array | null> {
    const files = await this.roomFilesOnceReady(room);
    return this.enqueue(files, async () => {
      const names = await readdirIfExists(files.directory);
      if (names.length > 0) {
        files.directoryExists = true;
        // A folder from before room names were recorded: record it now, so `list` finds the room.
        if (!hasRoomName(names)) await recordRoomName(files.directory, room);
      }
      const generations = names
        .map((name) => JOURNAL.exec(name))
        .filter((match): match is RegExpExecArray => match !== null)
        .map((match) => Number(match[1]))
        .sort((a, b) => a - b);
      // Never append after a possibly torn record: continue in a fresh generation.
      files.generation = Math.max(files.generation, (generations.at(-1) ?? 0) + 1);
      const updates: Uint8Array[] = [];
      if (names.includes(SNAPSHOT)) updates.push(await readFile(join(files.directory, SNAPSHOT)));
      for (const generation of generations) {
        const { updates: journaled, tornBytes } = decodeRecords(await readFile(join(files.directory, journalName(generation))));
        if (tornBytes > 0) this.logger.warn({ room, generation, tornBytes }, 'ignored a torn journal record');
        updates.push(...journaled);
      }
      if (updates.length === 0) return null;
      return updates.length === 1 ? updates[0] : Y.mergeUpdates(updates);
    });
  }

  append(room: string, update: Uint8Array): void {
    const files = this.rooms.get(room) ?? this.createRoomFiles(room);
    files.pending.push(update);
    files.flushTimer ??= setTimeout(() => {
      files.flushTimer = null;
      void this.flushJournal(room, files).catch((error: unknown) => {
        this.logger.error({ room, err: error }, 'journal write failed; the next checkpoint covers the updates');
      });
    }, this.flushIntervalMs);
  }

  async store(room: string, state: Uint8Array): Promise<void> {
    const files = this.rooms.get(room) ?? this.createRoomFiles(room);
    // Synchronously, before any await: every update appended so far is covered by `state`, and
    // every later one goes to the next generation, which this checkpoint must keep.
    const covered = files.generation;
    files.generation += 1;
    const flushed = this.flushJournal(room, files, covered);
    return this.enqueue(files, async () => {
      await flushed.catch(() => undefined);
      await this.writeSnapshot(files, state);
      if (files.journal && files.journalGeneration <= covered) await this.closeJournal(files);
      const names = await readdirIfExists(files.directory);
      await Promise.all(
        names.map(async (name) => {
          const match = JOURNAL.exec(name);
          if (match && Number(match[1]) <= covered) await unlink(join(files.directory, name));
        }),
      );
    });
  }

  async release(room: string): Promise<void> {
    const files = this.rooms.get(room);
    if (!files) return;
    await this.flushJournal(room, files);
    await this.enqueue(files, () => this.closeJournal(files));
    if (files.pending.length === 0 && this.rooms.get(room) === files) this.rooms.delete(room);
  }

  /** Deletes the room's folder: snapshot, journal and anything beside them. */
  async delete(room: string): Promise<boolean> {
    const files = await this.roomFilesOnceReady(room);
    if (files.flushTimer) {
      clearTimeout(files.flushTimer);
      files.flushTimer = null;
    }
    files.pending = [];
    return this.enqueue(files, async () => {
      await this.closeJournal(files);
      if (this.rooms.get(room) === files) this.rooms.delete(room);
      const existed = (await readdirIfExists(files.directory)).length > 0;
      await rm(files.directory, { recursive: true, force: true });
      return existed;
    });
  }

  /** Names of the stored rooms (see `DocumentStore.list`). */
  list(options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
    return listRoomNames(this.directory, options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.rooms.keys()].map((room) => this.release(room)));
  }

  private flushJournal(room: string, files: RoomFiles, generation = files.generation): Promise<void> {
    if (files.flushTimer) {
      clearTimeout(files.flushTimer);
      files.flushTimer = null;
    }
    if (files.pending.length === 0) return files.queue;
    const batch = files.pending;
    files.pending = [];
    return this.enqueue(files, async () => {
      const journal = await this.openJournal(files, generation);
      const records = encodeRecords(batch);
      if (this.syncJournal) {
        await journal.write(records);
        await journal.datasync();
      } else {
        // A few hundred bytes into the page cache take microseconds; the thread pool round trip
        // of an asynchronous write costs an order of magnitude more CPU than the write itself.
        writeAllSync(journal.fd, records);
      }
    });
  }

  /** The append handle of a journal generation; the previous generation's is closed (a checkpoint covers it). */
  private async openJournal(files: RoomFiles, generation: number): Promise<FileHandle> {
    if (files.journal && files.journalGeneration === generation) return files.journal;
    await this.closeJournal(files);
    await this.ensureDirectory(files);
    files.journal = await open(join(files.directory, journalName(generation)), 'a');
    files.journalGeneration = generation;
    this.openJournals.add(files);
    if (this.openJournals.size > this.maxOpenJournals) {
      // Least recently opened first: a room that writes again simply reopens its journal.
      const [oldest] = this.openJournals;
      if (oldest !== files) void this.enqueue(oldest, () => this.closeJournal(oldest));
    }
    return files.journal;
  }

  private async closeJournal(files: RoomFiles): Promise<void> {
    const journal = files.journal;
    if (!journal) return;
    files.journal = null;
    this.openJournals.delete(files);
    await journal.close();
  }

  private async ensureDirectory(files: RoomFiles): Promise<void> {
    if (files.directoryExists) return;
    await mkdir(files.directory, { recursive: true });
    await recordRoomName(files.directory, files.room);
    files.directoryExists = true;
  }

  private async writeSnapshot(files: RoomFiles, state: Uint8Array): Promise<void> {
    await this.ensureDirectory(files);
    const { directory } = files;
    const temporary = join(directory, `${SNAPSHOT}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'w');
    try {
      await handle.write(state);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, join(directory, SNAPSHOT));
    const folder = await open(directory, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  private async roomFilesOnceReady(room: string): Promise<RoomFiles> {
    this.ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    await this.ready;
    return this.rooms.get(room) ?? this.createRoomFiles(room);
  }

  private createRoomFiles(room: string): RoomFiles {
    const files: RoomFiles = {
      room,
      directory: join(this.directory, roomFileName(room)),
      directoryExists: false,
      generation: 1,
      journal: null,
      journalGeneration: 0,
      pending: [],
      flushTimer: null,
      queue: Promise.resolve(),
    };
    this.rooms.set(room, files);
    return files;
  }

  private enqueue<T>(files: RoomFiles, task: () => Promise<T>): Promise<T> {
    const run = files.queue.then(task);
    files.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
