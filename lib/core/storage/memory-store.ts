import * as Y from 'yjs';
import type { DocumentStore } from './document-store.js';

/** Keeps documents in this process only: for tests and rooms that need no durability. */
export class MemoryStore implements DocumentStore {
  private readonly snapshots = new Map<string, Uint8Array>();
  private readonly journals = new Map<string, Uint8Array[]>();

  async load(room: string): Promise<Uint8Array | null> {
    const snapshot = this.snapshots.get(room);
    const journal = this.journals.get(room) ?? [];
    if (!snapshot && journal.length === 0) return null;
    return Y.mergeUpdates(snapshot ? [snapshot, ...journal] : journal);
  }

  async store(room: string, state: Uint8Array): Promise<void> {
    this.snapshots.set(room, state);
    this.journals.delete(room);
  }

  append(room: string, update: Uint8Array): void {
    let journal = this.journals.get(room);
    if (!journal) this.journals.set(room, (journal = []));
    journal.push(update);
  }

  async delete(room: string): Promise<boolean> {
    const existed = this.snapshots.has(room) || this.journals.has(room);
    this.snapshots.delete(room);
    this.journals.delete(room);
    return existed;
  }

  async list(options: { prefix?: string; after?: string; limit: number }): Promise<string[]> {
    const { prefix = '', after, limit } = options;
    return this.rooms()
      .filter((room) => room.startsWith(prefix) && (after === undefined || room > after))
      .sort()
      .slice(0, limit);
  }

  /** Names of the rooms this store holds. */
  rooms(): string[] {
    return [...new Set([...this.snapshots.keys(), ...this.journals.keys()])];
  }
}
