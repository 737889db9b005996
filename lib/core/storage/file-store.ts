import { randomBytes } from 'node:crypto';
import { ftruncateSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { DocumentStore, RoomStorageStatus, StorageDamage } from './document-store.js';
import { syncFolder } from './atomic-file.js';
import { encodeRecords, recordFrame } from './journal-records.js';
import { journalName, parseRoomFolder, readdirIfExists, snapshotName } from './room-folder.js';
import { readRoomFolder } from './room-folder-reader.js';
import { roomFileName } from './room-file-name.js';
import { hasRoomName, listRoomNames, recordRoomName } from './room-names.js';

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
  /**
   * Longest wait between attempts to write a journal batch that failed (a full disk, an I/O
   * error), in milliseconds; attempts start 50 ms apart and back off to it. One second notices
   * freed space quickly, and a failing attempt costs two system calls.
   * @default 1000
   */
  maxJournalRetryIntervalMs?: number;
  logger?: Logger;
}

const FIRST_JOURNAL_RETRY_MS = 50;

interface RoomFiles {
  readonly room: string;
  readonly folder: string;
  readonly directory: string;
  /** False until the folder was listed: the first write of an entry made without a load finds its generation first. */
  listed: boolean;
  /** True once the room's folder exists: creating it again on every write would double the syscalls. */
  directoryExists: boolean;
  /** Generation the next journal writes go to. Each checkpoint starts a new one. */
  generation: number;
  /** The open journal of `journalGeneration`, kept open between writes (one syscall per batch). */
  journal: FileHandle | null;
  journalGeneration: number;
  /** Bytes of the open journal that hold complete records: a failed write is cut back to it. */
  journalBytes: number;
  /** The generation whose journal this entry created; any other is created exclusively. */
  createdGeneration: number;
  pending: Uint8Array[];
  flushTimer: NodeJS.Timeout | null;
  /** Batches whose write failed, written first by the next attempt; a checkpoint covers them. */
  unwritten: Uint8Array[];
  failedWrites: number;
  retryTimer: NodeJS.Timeout | null;
  damage: readonly StorageDamage[];
  watcher: ((status: RoomStorageStatus) => void) | null;
  /** Serialises this room's file operations: journal writes, checkpoints, loads, release. */
  queue: Promise<void>;
  queuedTasks: number;
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.byteLength; ) written += writeSync(fd, bytes, written);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.byteLength; ) written += (await handle.write(bytes, written)).bytesWritten;
}

/**
 * The embedded document store: one folder per room in a data directory (see room-folder.ts).
 *
 * Updates are journaled in batches. A batch that fails to write is cut off the journal again
 * (or, if even that fails, the journal is abandoned for a new generation), kept and retried with
 * back-off; meanwhile the room reports itself not writable, and Symphony refuses its updates.
 *
 * A checkpoint writes a framed snapshot atomically (temporary file, fsync, rename, fsync of the
 * folder) for a new generation, then deletes what the previous snapshot covers: the newest two
 * snapshots, and the journals after the older one, always remain, so a damaged newest snapshot
 * falls back to the previous generation without losing a journaled update.
 *
 * Entries in memory exist only for rooms that are watched (loaded by Symphony) or have work in
 * flight: reading a room that is not loaded leaves nothing behind.
 */
export class FileStore implements DocumentStore {
  readonly directory: string;
  private readonly flushIntervalMs: number;
  private readonly syncJournal: boolean;
  private readonly maxRetryIntervalMs: number;
  private readonly logger: Logger;
  private readonly rooms = new Map<string, RoomFiles>();
  private readonly openJournals = new Set<RoomFiles>();
  private readonly maxOpenJournals: number;
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(options: FileStoreOptions) {
    if (!options || typeof options.directory !== 'string' || options.directory === '') {
      throw new ConfigurationError('FileStore needs a "directory" option');
    }
    this.directory = resolve(options.directory);
    this.flushIntervalMs = options.journalFlushIntervalMs ?? 10;
    this.syncJournal = options.syncJournal ?? false;
    this.logger = options.logger ?? silentLogger;
    this.maxOpenJournals = options.maxOpenJournals ?? 1_024;
    this.maxRetryIntervalMs = options.maxJournalRetryIntervalMs ?? 1_000;
    if (!(this.flushIntervalMs >= 0 && this.flushIntervalMs <= 100)) {
      throw new ConfigurationError('FileStore "journalFlushIntervalMs" must be between 0 and 100');
    }
    if (!(this.maxRetryIntervalMs >= FIRST_JOURNAL_RETRY_MS && this.maxRetryIntervalMs <= 60_000)) {
      throw new ConfigurationError(`FileStore "maxJournalRetryIntervalMs" must be between ${FIRST_JOURNAL_RETRY_MS} and 60000`);
    }
  }

  async load(room: string): Promise<Uint8Array | null> {
    this.ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    await this.ready;
    const files = this.roomFiles(room);
    return this.enqueue(files, async () => {
      const names = await readdirIfExists(files.directory);
      if (names.length > 0) {
        files.directoryExists = true;
        // A folder from before room names were recorded: record it now, so `list` finds the room.
        if (!hasRoomName(names)) await this.recordRoomName(files);
      }
      const contents = await readRoomFolder(this.directory, files.folder, names, this.logger);
      // Never append after a possibly torn record: continue in a fresh generation.
      files.generation = Math.max(files.generation, contents.highestGeneration + 1);
      files.listed = true;
      if (contents.damage.length > 0) {
        files.damage = [...files.damage, ...contents.damage];
        this.notify(files);
      }
      return contents.state;
    });
  }

  append(room: string, update: Uint8Array): void {
    const files = this.rooms.get(room) ?? this.roomFiles(room);
    files.pending.push(update);
    files.flushTimer ??= setTimeout(() => {
      files.flushTimer = null;
      void this.flushJournal(files);
    }, this.flushIntervalMs);
  }

  async store(room: string, state: Uint8Array): Promise<void> {
    const files = this.rooms.get(room) ?? this.roomFiles(room);
    // Every update appended so far is covered by `state`: write them to the journal generation the
    // checkpoint cuts, so the ones appended from now on land in the next, which it keeps.
    void this.flushJournal(files);
    return this.enqueue(files, () => this.checkpoint(files, state));
  }

  async release(room: string): Promise<void> {
    const files = this.rooms.get(room);
    if (!files) return;
    await this.flushJournal(files);
    await this.enqueue(files, () => this.closeJournal(files));
  }

  /** Deletes the room's folder: snapshots, journals, versions and anything beside them. */
  async delete(room: string): Promise<boolean> {
    this.ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    await this.ready;
    const files = this.roomFiles(room);
    if (files.flushTimer) {
      clearTimeout(files.flushTimer);
      files.flushTimer = null;
    }
    this.cancelRetry(files);
    // Whatever was waiting to be written belongs to the deleted document.
    files.pending = [];
    files.unwritten = [];
    return this.enqueue(files, async () => {
      await this.closeJournal(files);
      const existed = (await readdirIfExists(files.directory)).length > 0;
      await rm(files.directory, { recursive: true, force: true });
      if (this.rooms.get(room) === files) this.rooms.delete(room);
      return existed;
    });
  }

  /** Names of the stored rooms (see `DocumentStore.list`). */
  list(options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
    return listRoomNames(this.directory, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const files of this.rooms.values()) this.cancelRetry(files);
    await Promise.all([...this.rooms.keys()].map((room) => this.release(room)));
  }

  watch(room: string, onStatus: (status: RoomStorageStatus) => void): () => void {
    const files = this.rooms.get(room) ?? this.roomFiles(room);
    files.watcher = onStatus;
    if (files.damage.length > 0 || files.unwritten.length > 0) onStatus(this.status(files));
    return () => {
      if (files.watcher !== onStatus) return;
      files.watcher = null;
      files.damage = [];
      this.evictIfIdle(files);
    };
  }

  unwrittenRooms(): string[] {
    return [...this.rooms.values()].filter((files) => files.unwritten.length > 0 || files.pending.length > 0).map((files) => files.room);
  }

  /** Rooms with an entry in memory: watched, or with work in flight. */
  get roomsInMemory(): number {
    return this.rooms.size;
  }

  // ---- the journal --------------------------------------------------------------------------

  private flushJournal(files: RoomFiles): Promise<void> {
    if (files.flushTimer) {
      clearTimeout(files.flushTimer);
      files.flushTimer = null;
    }
    if (files.pending.length === 0) return files.queue;
    const batch = files.pending;
    files.pending = [];
    return this.enqueue(files, () => this.writeBatch(files, batch));
  }

  /** Writes earlier failed batches and `batch`; on failure keeps them all for the next attempt. Never rejects. */
  private async writeBatch(files: RoomFiles, batch: Uint8Array[]): Promise<void> {
    const updates = files.unwritten.length > 0 ? files.unwritten.concat(batch) : batch;
    files.unwritten = [];
    if (updates.length === 0) return;
    try {
      await this.discoverGeneration(files);
      const journal = await this.openJournal(files);
      const records = encodeRecords(updates);
      try {
        if (this.syncJournal) {
          await writeAll(journal, records);
          await journal.datasync();
        } else {
          // A few hundred bytes into the page cache take microseconds; the thread pool round trip
          // of an asynchronous write costs an order of magnitude more CPU than the write itself.
          writeAllSync(journal.fd, records);
        }
      } catch (error) {
        this.cutBack(files, journal);
        throw error;
      }
      files.journalBytes += records.byteLength;
    } catch (error) {
      files.unwritten = updates;
      this.writeFailed(files, error);
      return;
    }
    if (files.failedWrites > 0) this.writeRecovered(files);
  }

  /** Removes a partial record, so the next write does not follow it; abandons the journal if even that fails. */
  private cutBack(files: RoomFiles, journal: FileHandle): void {
    try {
      ftruncateSync(journal.fd, files.journalBytes);
    } catch (error) {
      this.logger.error({ room: files.room, generation: files.journalGeneration, err: error }, 'could not cut a failed journal write; continuing in a new journal generation');
      void this.closeJournal(files).catch(() => undefined);
      files.generation += 1;
    }
  }

  private writeFailed(files: RoomFiles, error: unknown): void {
    files.failedWrites++;
    if (files.failedWrites === 1) {
      this.logger.error({ room: files.room, err: error, updates: files.unwritten.length }, 'journal write failed: the room refuses updates until it can write again');
      this.notify(files);
    }
    if (this.closed || files.retryTimer) return;
    const delay = Math.min(this.maxRetryIntervalMs, FIRST_JOURNAL_RETRY_MS * 2 ** (files.failedWrites - 1));
    files.retryTimer = setTimeout(() => {
      files.retryTimer = null;
      void this.enqueue(files, () => this.writeBatch(files, []));
    }, delay);
  }

  private writeRecovered(files: RoomFiles): void {
    this.logger.info({ room: files.room, failedAttempts: files.failedWrites }, 'journal writes recovered');
    files.failedWrites = 0;
    this.cancelRetry(files);
    this.notify(files);
  }

  private cancelRetry(files: RoomFiles): void {
    if (files.retryTimer) {
      clearTimeout(files.retryTimer);
      files.retryTimer = null;
    }
  }

  /** The append handle of the current generation; the previous generation's is closed (a checkpoint covers it). */
  private async openJournal(files: RoomFiles): Promise<FileHandle> {
    if (files.journal && files.journalGeneration === files.generation) return files.journal;
    await this.closeJournal(files);
    await this.ensureDirectory(files);
    let generation = files.generation;
    let handle: FileHandle;
    if (generation === files.createdGeneration) {
      handle = await open(join(files.directory, journalName(generation)), 'a');
      files.journalBytes = (await handle.stat()).size;
    } else {
      // Exclusive: an existing file may end in a torn record, which no write may follow.
      for (;;) {
        try {
          handle = await open(join(files.directory, journalName(generation)), 'ax');
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          generation += 1;
        }
      }
      files.generation = generation;
      files.createdGeneration = generation;
      files.journalBytes = 0;
    }
    files.journal = handle;
    files.journalGeneration = generation;
    this.openJournals.add(files);
    if (this.openJournals.size > this.maxOpenJournals) {
      // Least recently opened first: a room that writes again simply reopens its journal.
      const [oldest] = this.openJournals;
      if (oldest !== files) void this.enqueue(oldest, () => this.closeJournal(oldest));
    }
    return handle;
  }

  private async closeJournal(files: RoomFiles): Promise<void> {
    const journal = files.journal;
    if (!journal) return;
    files.journal = null;
    this.openJournals.delete(files);
    await journal.close();
  }

  // ---- checkpoints --------------------------------------------------------------------------

  private async checkpoint(files: RoomFiles, state: Uint8Array): Promise<void> {
    await this.discoverGeneration(files);
    const covered = files.generation;
    files.generation += 1;
    if (files.journal && files.journalGeneration <= covered) await this.closeJournal(files);
    await this.writeSnapshot(files, covered, state);
    if (files.unwritten.length > 0) {
      // Every failed batch was appended before this checkpoint was asked for: the snapshot holds it.
      files.unwritten = [];
      this.writeRecovered(files);
    }
    await this.pruneGenerations(files, covered);
  }

  /** Keeps the new snapshot, the one before it and the journals after that one; deletes the rest. */
  private async pruneGenerations(files: RoomFiles, newest: number): Promise<void> {
    const listing = parseRoomFolder(await readdirIfExists(files.directory));
    const previous = listing.snapshots.find((snapshot) => snapshot.generation < newest);
    if (!previous) return;
    const obsolete = [
      ...listing.snapshots.filter((snapshot) => snapshot.generation < previous.generation),
      ...listing.journals.filter((journal) => journal.generation <= previous.generation),
    ];
    await Promise.all(obsolete.map((file) => unlink(join(files.directory, file.name))));
  }

  private async writeSnapshot(files: RoomFiles, generation: number, state: Uint8Array): Promise<void> {
    await this.ensureDirectory(files);
    const { directory } = files;
    const name = snapshotName(generation);
    const temporary = join(directory, `${name}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temporary, 'wx');
      try {
        const { header, trailer } = recordFrame(state);
        const expected = header.byteLength + state.byteLength + trailer.byteLength;
        const { bytesWritten } = await handle.writev([header, state, trailer]);
        // A short write means the disk filled up: never rename an incomplete snapshot into place.
        if (bytesWritten !== expected) throw Object.assign(new Error(`short snapshot write: ${bytesWritten} of ${expected} bytes`), { code: 'ENOSPC' });
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, join(directory, name));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    // The rename is durable only once the folder is synced.
    await syncFolder(directory);
  }

  // ---- entries ------------------------------------------------------------------------------

  /** An entry created by a write rather than a load learns from the folder which generation comes next. */
  private async discoverGeneration(files: RoomFiles): Promise<void> {
    if (files.listed) return;
    const names = await readdirIfExists(files.directory);
    if (names.length > 0) files.directoryExists = true;
    files.generation = Math.max(files.generation, parseRoomFolder(names).highestGeneration + 1);
    files.listed = true;
  }

  private async ensureDirectory(files: RoomFiles): Promise<void> {
    if (files.directoryExists) return;
    await mkdir(files.directory, { recursive: true });
    await this.recordRoomName(files);
    files.directoryExists = true;
  }

  /**
   * Records the room's name in its folder, so `list` finds it (the folder name is partly a hash).
   * Best effort: a room whose name cannot be written (a full disk) still loads and stores; it is
   * listed once a later load records the name.
   */
  private async recordRoomName(files: RoomFiles): Promise<void> {
    try {
      await recordRoomName(files.directory, files.room);
    } catch (error) {
      this.logger.warn({ room: files.room, err: error }, 'could not record the room name in its folder; the room is not listed until it loads again');
    }
  }

  private status(files: RoomFiles): RoomStorageStatus {
    return { damage: files.damage, writable: files.failedWrites === 0 };
  }

  private notify(files: RoomFiles): void {
    try {
      files.watcher?.(this.status(files));
    } catch (error) {
      this.logger.error({ room: files.room, err: error }, 'a storage status listener failed');
    }
  }

  private roomFiles(room: string): RoomFiles {
    const existing = this.rooms.get(room);
    if (existing) return existing;
    const folder = roomFileName(room);
    const files: RoomFiles = {
      room,
      folder,
      directory: join(this.directory, folder),
      listed: false,
      directoryExists: false,
      generation: 1,
      journal: null,
      journalGeneration: 0,
      journalBytes: 0,
      createdGeneration: 0,
      pending: [],
      flushTimer: null,
      unwritten: [],
      failedWrites: 0,
      retryTimer: null,
      damage: [],
      watcher: null,
      queue: Promise.resolve(),
      queuedTasks: 0,
    };
    this.rooms.set(room, files);
    return files;
  }

  /** Forgets a room nobody watches once its work is done and written; the folder tells a later load everything. */
  private evictIfIdle(files: RoomFiles): void {
    if (files.watcher || files.queuedTasks > 0 || files.pending.length > 0 || files.unwritten.length > 0 || files.flushTimer || files.journal) return;
    if (this.rooms.get(files.room) === files) this.rooms.delete(files.room);
  }

  private enqueue<T>(files: RoomFiles, task: () => Promise<T>): Promise<T> {
    files.queuedTasks++;
    const run = files.queue.then(task);
    files.queue = run.then(
      () => this.taskDone(files),
      () => this.taskDone(files),
    );
    return run;
  }

  private taskDone(files: RoomFiles): void {
    files.queuedTasks--;
    if (files.queuedTasks === 0) this.evictIfIdle(files);
  }
}
