import type { RoomEntry, WriterLease } from './room-registry.js';

/** What a node stopping (or looking for a writer) should make of a room's writer lease. */
export type WriterVerdict =
  /** This node holds it. */
  | { readonly kind: 'self' }
  /** Nobody holds it, or it expired: take it. */
  | { readonly kind: 'free' }
  /**
   * Its holder is known to be dead or gone: no live registry entry, and either no renewal for as
   * long as an entry takes to go stale, or it announced it left the room. Take it over.
   */
  | { readonly kind: 'dead'; readonly lease: WriterLease }
  /** Its holder has a live registry entry: ask it whether it still holds the room. */
  | { readonly kind: 'listed'; readonly holder: string; readonly url: string }
  /** Its holder renewed it recently but is not registered (it may still be loading the room): wait. */
  | { readonly kind: 'unsettled'; readonly holder: string };

/**
 * Judges the writer lease of a room from its registry entry. "Known dead" needs more than a
 * missing registry entry: a node that just took the lease while loading the room is not
 * registered yet, but renewed the lease a moment ago. `left` is a node that announced it left the
 * room, and when (its lease outlives it only if releasing it failed; one taken after that is a new
 * one).
 */
export function judgeWriter(
  entry: RoomEntry,
  nodeId: string,
  now: number,
  staleAfterMs: number,
  left: { readonly nodeId: string; readonly at: number } | null = null,
): WriterVerdict {
  const { lease } = entry;
  if (!lease || lease.holder === '' || lease.leaseUntil <= now) return { kind: 'free' };
  if (lease.holder === nodeId) return { kind: 'self' };
  const listed = entry.holders.find((holder) => holder.nodeId === lease.holder);
  if (listed) return { kind: 'listed', holder: lease.holder, url: listed.url };
  const gone = left !== null && lease.holder === left.nodeId && lease.renewedAt <= left.at;
  if (now - lease.renewedAt > staleAfterMs || gone) return { kind: 'dead', lease };
  return { kind: 'unsettled', holder: lease.holder };
}
