import { mergeRoomWrites, mergeSessionWrites } from './merge.js';
import type { RoomWrite, SessionWrite } from './metadata-store.js';

export type PendingWrite = { readonly kind: 'room'; readonly write: RoomWrite } | { readonly kind: 'session'; readonly write: SessionWrite };

/**
 * Writes waiting for the metadata store, oldest first. A new write about a room or session already
 * waiting merges into it, so a busy room costs one entry however many events it produces. The
 * queue holds at most `maxQueuedWrites` entries: while the store is down, the oldest are dropped
 * (and counted) rather than growing the server's memory without bound.
 */
export class WriteQueue {
  private pending = new Map<string, PendingWrite>();
  /** Writes dropped because the queue was full, since start. */
  dropped = 0;

  constructor(private readonly maxQueuedWrites: number) {}

  get size(): number {
    return this.pending.size;
  }

  addRoom(write: RoomWrite): void {
    this.add({ kind: 'room', write });
  }

  addSession(write: SessionWrite): void {
    this.add({ kind: 'session', write });
  }

  /** Removes and returns up to `max` of the oldest writes. */
  take(max: number): PendingWrite[] {
    const taken: PendingWrite[] = [];
    for (const [key, entry] of this.pending) {
      if (taken.length >= max) break;
      taken.push(entry);
      this.pending.delete(key);
    }
    return taken;
  }

  /** Puts the writes of a failed batch back in front of the newer ones, merging where both speak of the same thing. */
  restore(writes: readonly PendingWrite[]): void {
    const newer = this.pending;
    this.pending = new Map();
    for (const entry of writes) {
      const key = keyOf(entry);
      const later = newer.get(key);
      newer.delete(key);
      this.pending.set(key, later ? merge(entry, later) : entry);
    }
    for (const [key, entry] of newer) this.pending.set(key, entry);
    this.trim();
  }

  private add(entry: PendingWrite): void {
    const key = keyOf(entry);
    const earlier = this.pending.get(key);
    this.pending.set(key, earlier ? merge(earlier, entry) : entry);
    this.trim();
  }

  private trim(): void {
    for (const key of this.pending.keys()) {
      if (this.pending.size <= this.maxQueuedWrites) return;
      this.pending.delete(key);
      this.dropped++;
    }
  }
}

function keyOf(entry: PendingWrite): string {
  // The kinds live in one map; a prefix keeps a room and a session of the same name apart.
  return entry.kind === 'room' ? `r:${entry.write.name}` : `s:${entry.write.id}`;
}

function merge(older: PendingWrite, newer: PendingWrite): PendingWrite {
  if (older.kind === 'room' && newer.kind === 'room') return { kind: 'room', write: mergeRoomWrites(older.write, newer.write) };
  if (older.kind === 'session' && newer.kind === 'session') return { kind: 'session', write: mergeSessionWrites(older.write, newer.write) };
  return newer;
}
