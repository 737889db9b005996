import type { VersionStore } from './version-store.js';
import type { VersionInfo } from './version-types.js';

/** Versions in this process only, beside a `MemoryStore`: for tests and ephemeral rooms. */
export class MemoryVersionStore implements VersionStore {
  private readonly rooms = new Map<string, Map<string, { info: VersionInfo; state: Uint8Array }>>();

  async put(info: VersionInfo, state: Uint8Array): Promise<void> {
    let versions = this.rooms.get(info.room);
    if (!versions) this.rooms.set(info.room, (versions = new Map()));
    versions.set(info.id, { info, state });
  }

  async list(room: string): Promise<VersionInfo[]> {
    return [...(this.rooms.get(room)?.values() ?? [])].map((version) => version.info).sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  async read(room: string, id: string): Promise<Uint8Array | null> {
    return this.rooms.get(room)?.get(id)?.state ?? null;
  }

  async delete(room: string, ids: readonly string[]): Promise<void> {
    const versions = this.rooms.get(room);
    for (const id of ids) versions?.delete(id);
  }

  async deleteAll(room: string): Promise<void> {
    this.rooms.delete(room);
  }
}
