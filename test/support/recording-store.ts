import { MemoryStore } from '../../lib/index.js';

/**
 * A real `MemoryStore` that also remembers every journal append and checkpoint per room, so a test
 * can tell exactly what a server persisted (a refused update must never appear there).
 */
export class RecordingStore extends MemoryStore {
  readonly appended = new Map<string, Uint8Array[]>();
  readonly checkpoints = new Map<string, Uint8Array[]>();

  override append(room: string, update: Uint8Array): void {
    super.append(room, update);
    const list = this.appended.get(room) ?? [];
    list.push(update);
    this.appended.set(room, list);
  }

  override async store(room: string, state: Uint8Array): Promise<void> {
    const list = this.checkpoints.get(room) ?? [];
    list.push(state);
    this.checkpoints.set(room, list);
    await super.store(room, state);
  }

  appendsOf(room: string): Uint8Array[] {
    return this.appended.get(room) ?? [];
  }
}
