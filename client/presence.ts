import type { Awareness } from 'y-protocols/awareness';

/** Another client in the room, as it announced itself. */
export interface OtherUser<P> {
  /** The Yjs client id of the other client (one per tab). */
  readonly clientId: number;
  /**
   * Its presence as that client sent it. Nothing on the server checks it against `P`: validate the
   * fields you render.
   */
  readonly presence: P;
}

/**
 * A room's presence (cursors, selections, names): y-protocols' Awareness with a partial `set`, a
 * typed view of the others, and a throttle on what is sent.
 *
 * The throttle matters because apps call `set` on every pointer move (60+ per second); sending each
 * one would multiply the room's traffic by the number of users for no visible gain.
 */
export class RoomPresence<P extends object> {
  private local: P;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: ReturnType<typeof setTimeout> | null = null;
  private readonly subscribers = new Set<(others: readonly OtherUser<P>[]) => void>();

  constructor(
    private readonly awareness: Awareness,
    initialPresence: P,
    /** Minimum interval between two presence messages, in milliseconds. */
    private readonly throttleMs: number,
  ) {
    this.local = { ...initialPresence };
    this.awareness.setLocalState(this.local);
    this.lastSentAt = Date.now();
    this.awareness.on('change', this.handleChange);
  }

  /** This client's Yjs id, as others see it in `others()`. */
  get clientId(): number {
    return this.awareness.clientID;
  }

  /** This client's own presence, including changes not sent yet. */
  get(): P {
    return this.local;
  }

  /**
   * Merges `partial` into this client's presence. Others receive it at most once per throttle
   * interval (100 ms, 10 per second, by default); the last value of an interval is always sent.
   */
  set(partial: Partial<P>): void {
    this.local = { ...this.local, ...partial };
    const waitMs = this.lastSentAt + this.throttleMs - Date.now();
    if (waitMs <= 0) {
      this.send();
    } else if (this.pending === null) {
      this.pending = setTimeout(() => this.send(), waitMs);
    }
  }

  /** The other clients in the room with their presence, ordered by client id. Empty while offline. */
  others(): OtherUser<P>[] {
    const others: OtherUser<P>[] = [];
    for (const [clientId, state] of this.awareness.getStates()) {
      if (clientId !== this.awareness.clientID) others.push({ clientId, presence: state as P });
    }
    return others.sort((a, b) => a.clientId - b.clientId);
  }

  /** Calls `callback` with `others()` whenever another client joins, leaves or changes its presence. Returns the unsubscribe function. */
  subscribe(callback: (others: readonly OtherUser<P>[]) => void): () => void {
    this.subscribers.add(callback);
    return () => this.subscribers.delete(callback);
  }

  /** Sends a change the throttle is holding back now, e.g. before a known pause. */
  flush(): void {
    if (this.pending !== null) this.send();
  }

  /** Drops every subscriber and a change the throttle still holds; the room calls it when it is left. */
  destroy(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
    this.subscribers.clear();
    this.awareness.off('change', this.handleChange);
  }

  private send(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
    this.lastSentAt = Date.now();
    this.awareness.setLocalState(this.local);
  }

  private readonly handleChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }): void => {
    const own = this.awareness.clientID;
    if (![added, updated, removed].some((ids) => ids.some((id) => id !== own))) return;
    const others = this.others();
    for (const subscriber of this.subscribers) subscriber(others);
  };
}
