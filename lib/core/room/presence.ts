import {
  awarenessStateBytes,
  isJsonState,
  parseAwarenessState,
  readAwarenessUpdate,
  writeAwarenessRemoval,
  writeAwarenessUpdate,
  type AwarenessEntry,
} from '../protocol/awareness-update.js';

/** The limits of `SymphonyLimits` that bound a room's presence (see there for defaults and reasons). */
export interface PresenceLimits {
  readonly maxPresenceClientsPerConnection: number;
  readonly maxPresenceStateBytes: number;
  readonly maxPresenceStatesPerRoom: number;
  readonly maxPresenceMessagesPerSecond: number;
}

/**
 * How far one entry may move a client's clock past the one the room knows. A client's clock grows
 * by one per change; after a reconnect it may have moved on by what the user did offline. A
 * larger jump only serves to freeze a state (no later clock can beat 2^53 - 1).
 */
export const MAX_PRESENCE_CLOCK_STEP = 100_000;
/**
 * Highest clock of a client the room does not know yet. A stock client renews its state every
 * 15 s and counts one per change: at 144 changes a second it takes centuries to get here.
 */
export const MAX_PRESENCE_CLOCK = 0xffff_ffff;
/**
 * How long the clock of a client that left is remembered, in milliseconds. Every stock client
 * echoes each state it receives, so the last state of a client that just left may arrive again
 * after its removal; the remembered clock keeps that echo from bringing the client back. y-protocols
 * drops silent clients after 30 s, so echoes older than this one do not exist.
 */
export const PRESENCE_TOMBSTONE_MS = 60_000;
/** Shortest interval between two answers to one connection's presence query, in milliseconds. */
export const PRESENCE_QUERY_INTERVAL_MS = 1_000;

/** Why a connection's presence was refused: the reason it is closed with. */
export type PresenceRefusal =
  | 'too many presence clients'
  | 'presence state too large'
  | 'room presence full'
  | 'presence too frequent'
  | 'presence clock out of range'
  | 'invalid presence state';

/** A connection broke a presence rule; the room closes it with `CloseCode.presenceRefused`. */
export class PresenceRefusedError extends Error {
  constructor(
    readonly reason: PresenceRefusal,
    readonly clientId: number,
  ) {
    super(`${reason} (client ${clientId})`);
    this.name = 'PresenceRefusedError';
  }
}

/** Who sent an update: a client's connection (checked against every limit) or another node (already checked there). */
export type PresenceSource = 'connection' | 'node';

interface Owner {
  readonly source: PresenceSource;
  /** Client ids this owner announced and still holds. */
  readonly clients: Set<number>;
  /** Start of the current one-second window, and the updates counted in it. */
  windowStartedAt: number;
  updatesInWindow: number;
  lastQueryAt: number;
}

interface Tombstone {
  readonly clock: number;
  readonly expiresAt: number;
}

/**
 * A room's awareness (presence) states, kept as the bytes clients sent.
 *
 * It follows y-protocols' Awareness rules (a state replaces the previous one only with a higher
 * clock; `null` removes a client) and adds what a server facing many clients needs:
 * - a client id belongs to the owner (connection or node) that first announced it, until that
 *   owner goes; entries for an id held by another owner are dropped, so nobody can overwrite,
 *   freeze or erase another user's presence;
 * - limits on ids per connection, state size, states per room and updates per second;
 * - states that are not JSON are refused, so no receiver's `JSON.parse` throws.
 * JSON is parsed once per accepted entry to check it; the relay path never re-encodes a message
 * unless it has to leave entries out.
 */
export class Presence {
  private readonly states = new Map<number, AwarenessEntry>();
  private readonly ownerOf = new Map<number, string>();
  private readonly owners = new Map<string, Owner>();
  /** Clocks of clients that left, oldest first. */
  private readonly tombstones = new Map<number, Tombstone>();
  /** `encodeAll()`'s answer until the states change: a join storm encodes them once. */
  private encodedStates: Uint8Array | null | undefined;

  constructor(
    private readonly limits: PresenceLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Applies an awareness update from `ownerId` (a connection id or `node:<id>`) and returns what to
   * relay: `update` itself when every entry was accepted, a smaller update with the accepted
   * entries only, or null when nothing changed. Entries for ids held by another owner, and stale
   * ones (stock clients echo every state they receive), are dropped. A connection that breaks a
   * limit or sends a state that is not JSON gets a `PresenceRefusedError`; a node's offending
   * entries are dropped. Throws a RangeError on malformed input.
   */
  apply(update: Uint8Array, ownerId: string, source: PresenceSource): Uint8Array | null {
    const entries = readAwarenessUpdate(update);
    const owner = this.ownerRecord(ownerId, source);
    // Built only once an entry was left out (and one is accepted): the usual message, all accepted
    // or all dropped echoes, allocates nothing here.
    let accepted: AwarenessEntry[] | null = null;
    let acceptedCount = 0;
    let someDropped = false;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (this.accept(entry, ownerId, owner)) {
        if (someDropped) (accepted ??= []).push(entry);
        acceptedCount++;
      } else if (!someDropped) {
        someDropped = true;
        if (i > 0) accepted = entries.slice(0, i);
      }
    }
    if (acceptedCount === 0) return null;
    if (source === 'connection') this.countUpdate(owner, entries[0].clientId);
    return someDropped ? writeAwarenessUpdate(accepted!) : update;
  }

  /** Every current state as one awareness update (for a client that just joined), or null if there is none. */
  encodeAll(): Uint8Array | null {
    if (this.encodedStates === undefined) {
      this.encodedStates = this.states.size === 0 ? null : writeAwarenessUpdate(this.states.values());
    }
    return this.encodedStates;
  }

  /** The states held by this node's connections (not those relayed from other nodes), or null if there is none. */
  encodeLocal(): Uint8Array | null {
    const local: AwarenessEntry[] = [];
    for (const [clientId, entry] of this.states) {
      if (this.owners.get(this.ownerOf.get(clientId)!)?.source === 'connection') local.push(entry);
    }
    return local.length === 0 ? null : writeAwarenessUpdate(local);
  }

  /**
   * The answer to a connection's presence query: every state, or null when there is none or the
   * connection asked less than `PRESENCE_QUERY_INTERVAL_MS` ago (each answer may carry the whole
   * room's presence, so asking in a loop must not make the server send it in a loop).
   */
  answerQuery(ownerId: string): Uint8Array | null {
    const owner = this.ownerRecord(ownerId, 'connection');
    const now = this.now();
    if (now - owner.lastQueryAt < PRESENCE_QUERY_INTERVAL_MS) return null;
    owner.lastQueryAt = now;
    return this.encodeAll();
  }

  /**
   * Forgets the clients `owner` announced and returns the awareness update that tells everyone
   * else they are gone, or null if they had no state.
   */
  removeOwner(ownerId: string): Uint8Array | null {
    const owner = this.owners.get(ownerId);
    this.owners.delete(ownerId);
    if (!owner) return null;
    const removed: { clientId: number; clock: number }[] = [];
    for (const clientId of owner.clients) {
      this.ownerOf.delete(clientId);
      const entry = this.states.get(clientId);
      if (!entry) continue;
      this.states.delete(clientId);
      this.bury(clientId, entry.clock + 1);
      removed.push({ clientId, clock: entry.clock });
    }
    if (removed.length === 0) return null;
    this.encodedStates = undefined;
    return writeAwarenessRemoval(removed);
  }

  /** States parsed from JSON, keyed by Yjs client id, like y-protocols' `Awareness.getStates()`. */
  getStates(): Map<number, unknown> {
    const parsed = new Map<number, unknown>();
    for (const [clientId, entry] of this.states) parsed.set(clientId, parseAwarenessState(entry));
    return parsed;
  }

  /** How much the room holds: states, client ids with an owner, and remembered clocks of clients that left. */
  sizes(): { states: number; ownedClients: number; tombstones: number } {
    return { states: this.states.size, ownedClients: this.ownerOf.size, tombstones: this.tombstones.size };
  }

  /** Applies one entry if it is newer and allowed; false when it is dropped. */
  private accept(entry: AwarenessEntry, ownerId: string, owner: Owner): boolean {
    const { clientId, clock } = entry;
    const holder = this.ownerOf.get(clientId);
    if (holder !== undefined && holder !== ownerId) return false;
    const current = this.states.get(clientId);
    const known = current?.clock ?? this.tombstoneClock(clientId);
    if (known === undefined ? clock > MAX_PRESENCE_CLOCK : clock - known > MAX_PRESENCE_CLOCK_STEP) {
      return this.refuse(owner, 'presence clock out of range', clientId);
    }
    if (known !== undefined && (clock < known || (clock === known && !(entry.removed && current)))) return false;
    if (entry.removed) {
      // Only the holder removes a state; a null for an id nobody holds changes nothing.
      if (holder === undefined) return false;
      if (current) this.states.delete(clientId);
      this.bury(clientId, clock);
      this.encodedStates = undefined;
      // A node's client that left may reconnect anywhere: its id is free again.
      if (owner.source === 'node') this.release(clientId, owner);
      return true;
    }
    if (awarenessStateBytes(entry) > this.limits.maxPresenceStateBytes) return this.refuse(owner, 'presence state too large', clientId);
    if (!isJsonState(entry)) return this.refuse(owner, 'invalid presence state', clientId);
    if (holder === undefined && owner.source === 'connection' && owner.clients.size >= this.limits.maxPresenceClientsPerConnection) {
      return this.refuse(owner, 'too many presence clients', clientId);
    }
    if (!current && this.states.size >= this.limits.maxPresenceStatesPerRoom) return this.refuse(owner, 'room presence full', clientId);
    if (holder === undefined) {
      this.ownerOf.set(clientId, ownerId);
      owner.clients.add(clientId);
    }
    this.tombstones.delete(clientId);
    this.encodedStates = undefined;
    // Copy: the entry points into the received message, which would otherwise stay alive.
    this.states.set(clientId, { ...entry, bytes: entry.bytes.slice() });
    return true;
  }

  /** A connection breaking a rule is refused whole; a node's entry is dropped (the node's own limits let it through). */
  private refuse(owner: Owner, reason: PresenceRefusal, clientId: number): false {
    if (owner.source === 'connection') throw new PresenceRefusedError(reason, clientId);
    return false;
  }

  private countUpdate(owner: Owner, clientId: number): void {
    const now = this.now();
    if (now - owner.windowStartedAt >= 1_000) {
      owner.windowStartedAt = now;
      owner.updatesInWindow = 0;
    }
    if (++owner.updatesInWindow > this.limits.maxPresenceMessagesPerSecond) throw new PresenceRefusedError('presence too frequent', clientId);
  }

  private ownerRecord(ownerId: string, source: PresenceSource): Owner {
    let owner = this.owners.get(ownerId);
    if (!owner) {
      owner = { source, clients: new Set(), windowStartedAt: 0, updatesInWindow: 0, lastQueryAt: -Infinity };
      this.owners.set(ownerId, owner);
    }
    return owner;
  }

  private release(clientId: number, owner: Owner): void {
    this.ownerOf.delete(clientId);
    owner.clients.delete(clientId);
  }

  private tombstoneClock(clientId: number): number | undefined {
    const tombstone = this.tombstones.get(clientId);
    if (tombstone === undefined) return undefined;
    if (tombstone.expiresAt > this.now()) return tombstone.clock;
    this.tombstones.delete(clientId);
    return undefined;
  }

  /**
   * Remembers a removed client's clock for `PRESENCE_TOMBSTONE_MS`. Expired clocks are swept as
   * new ones arrive, and no more are kept than the room may hold states.
   */
  private bury(clientId: number, clock: number): void {
    const now = this.now();
    this.tombstones.delete(clientId);
    this.tombstones.set(clientId, { clock, expiresAt: now + PRESENCE_TOMBSTONE_MS });
    for (const [oldest, tombstone] of this.tombstones) {
      if (tombstone.expiresAt > now && this.tombstones.size <= this.limits.maxPresenceStatesPerRoom) break;
      this.tombstones.delete(oldest);
    }
  }
}
