import * as Y from 'yjs';

/**
 * Anti-entropy for one room on one node: remembers the state vectors this node announced, and
 * works out from a peer's announced state vector what the peer lacks. Only content this node
 * already had one announcement earlier counts: anything newer may simply still be on its way, and
 * must not trigger a repair. A peer is repaired at most once per interval, and with the difference
 * only, never the whole document.
 */
export class PeerRepair {
  private recent: Map<number, number> | null = null;
  private older: Map<number, number> | null = null;
  private readonly lastRepairAt = new Map<string, number>();

  constructor(
    private readonly doc: Y.Doc,
    private readonly minIntervalMs: number,
  ) {}

  /** This node's state vector, to announce; remembered for the next repairs. */
  announce(): Uint8Array {
    const stateVector = Y.encodeStateVector(this.doc);
    this.older = this.recent;
    this.recent = Y.decodeStateVector(stateVector);
    return stateVector;
  }

  /** The update `peer` lacks according to its state vector; null when it lacks nothing old enough, or was repaired too recently. */
  repairFor(peer: string, peerStateVector: Uint8Array, now = Date.now()): Uint8Array | null {
    const older = this.older;
    if (!older) return null;
    const theirs = Y.decodeStateVector(peerStateVector);
    let lacking = false;
    for (const [client, clock] of older) {
      if ((theirs.get(client) ?? 0) < clock) {
        lacking = true;
        break;
      }
    }
    if (!lacking || now - (this.lastRepairAt.get(peer) ?? 0) < this.minIntervalMs) return null;
    this.lastRepairAt.set(peer, now);
    return Y.encodeStateAsUpdate(this.doc, peerStateVector);
  }
}
