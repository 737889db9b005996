/** Why the guard refused a handshake. */
export type HandshakeGuardRefusal = 'too-many-handshakes' | 'too-many-connections-from-address';

/**
 * A handshake's place in the guard: it counts towards the handshakes in progress until
 * `handshakeDone()`, and towards its address's connections until `release()`. Both are idempotent,
 * so every path may call them without tracking what it already released.
 */
export interface HandshakeTicket {
  handshakeDone(): void;
  release(): void;
}

/**
 * Bounds what handshakes cost: how many may be in progress at once (each may hold an
 * `authenticate` call and a room load), and how many WebSockets one client address may hold.
 */
export class HandshakeGuard {
  private pending = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxPendingHandshakes: number,
    /** Null: no limit per address. */
    private readonly maxConnectionsPerAddress: number | null,
  ) {}

  get pendingHandshakes(): number {
    return this.pending;
  }

  /** A ticket for a new handshake, or why it is refused. */
  enter(address: string | undefined): HandshakeTicket | HandshakeGuardRefusal {
    if (this.pending >= this.maxPendingHandshakes) return 'too-many-handshakes';
    const counted = this.maxConnectionsPerAddress !== null && address !== undefined ? address : null;
    if (counted !== null) {
      const held = this.perAddress.get(counted) ?? 0;
      if (held >= (this.maxConnectionsPerAddress as number)) return 'too-many-connections-from-address';
      this.perAddress.set(counted, held + 1);
    }
    this.pending++;
    return new GuardTicket(this, counted);
  }

  /** Called once per ticket by `GuardTicket.handshakeDone`. */
  handshakeEnded(): void {
    this.pending--;
  }

  /** Called once per ticket that counted towards `address` by `GuardTicket.release`. */
  leave(address: string): void {
    const held = (this.perAddress.get(address) ?? 1) - 1;
    if (held === 0) this.perAddress.delete(address);
    else this.perAddress.set(address, held);
  }
}

/**
 * A ticket as a plain object rather than closures: every open connection holds its ticket until it
 * closes, and two closures with their context cost several times what these three fields do.
 */
class GuardTicket implements HandshakeTicket {
  private inHandshake = true;

  constructor(
    private readonly guard: HandshakeGuard,
    /** The address counted towards its limit, until released; null once released or when not counted. */
    private counted: string | null,
  ) {}

  handshakeDone(): void {
    if (!this.inHandshake) return;
    this.inHandshake = false;
    this.guard.handshakeEnded();
  }

  release(): void {
    this.handshakeDone();
    if (this.counted === null) return;
    const address = this.counted;
    this.counted = null;
    this.guard.leave(address);
  }
}
