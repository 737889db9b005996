import {
  parseAwarenessState,
  readAwarenessUpdate,
  writeAwarenessRemoval,
  writeAwarenessUpdate,
  type AwarenessEntry,
} from '../protocol/awareness-update.js';

/**
 * A room's awareness (presence) states, kept as the bytes clients sent.
 *
 * It follows y-protocols' Awareness rules (a state replaces the previous one only with a higher
 * clock; `null` removes a client) but never parses state JSON on the relay path. It remembers
 * which Yjs client ids each connection announced, so it can remove them the moment the
 * connection closes instead of waiting for the 30 s awareness timeout.
 */
export class Presence {
  private readonly states = new Map<number, AwarenessEntry>();
  /** Clock of the last entry per client, kept after removal so a late, older update is ignored. */
  private readonly clocks = new Map<number, number>();
  private readonly clientsByOwner = new Map<string, Set<number>>();

  /**
   * Applies an awareness update sent by `owner` (a connection id or a node id) and reports whether
   * any entry was newer than what the room had. Throws on malformed input.
   */
  apply(update: Uint8Array, owner: string | null): boolean {
    const entries = readAwarenessUpdate(update);
    let changed = false;
    for (const entry of entries) {
      const known = this.clocks.get(entry.clientId);
      const newer = known === undefined || known < entry.clock || (known === entry.clock && entry.removed && this.states.has(entry.clientId));
      if (!newer) continue;
      changed = true;
      this.clocks.set(entry.clientId, entry.clock);
      if (entry.removed) {
        this.states.delete(entry.clientId);
      } else {
        // Copy: the entry points into the received message, which would otherwise stay alive.
        this.states.set(entry.clientId, { ...entry, bytes: entry.bytes.slice() });
      }
      if (owner !== null) {
        let owned = this.clientsByOwner.get(owner);
        if (!owned) this.clientsByOwner.set(owner, (owned = new Set()));
        owned.add(entry.clientId);
      }
    }
    return changed;
  }

  /** Every current state as one awareness update (for a client that just joined), or null if there is none. */
  encodeAll(): Uint8Array | null {
    return this.states.size === 0 ? null : writeAwarenessUpdate(this.states.values());
  }

  /**
   * Forgets the clients `owner` announced and returns the awareness update that tells everyone
   * else they are gone, or null if they had no state.
   */
  removeOwner(owner: string): Uint8Array | null {
    const owned = this.clientsByOwner.get(owner);
    this.clientsByOwner.delete(owner);
    if (!owned) return null;
    const removed: { clientId: number; clock: number }[] = [];
    for (const clientId of owned) {
      const entry = this.states.get(clientId);
      if (!entry) continue;
      this.states.delete(clientId);
      this.clocks.set(clientId, entry.clock + 1);
      removed.push({ clientId, clock: entry.clock });
    }
    return removed.length === 0 ? null : writeAwarenessRemoval(removed);
  }

  /** States parsed from JSON, keyed by Yjs client id, like y-protocols' `Awareness.getStates()`. */
  getStates(): Map<number, unknown> {
    const parsed = new Map<number, unknown>();
    for (const [clientId, entry] of this.states) {
      try {
        parsed.set(clientId, parseAwarenessState(entry));
      } catch {
        // A client may send any bytes as its state; unreadable ones are simply not shown.
      }
    }
    return parsed;
  }
}
