import { earliest, latest, latestOrNull } from '../../util/dates.js';
import type { RoomWrite, SessionWrite } from './metadata-store.js';

/**
 * How two writes about the same room or session combine. Every field merges monotonically, so the
 * result does not depend on the order writes arrive in or on a write being applied twice: the
 * property that lets batches be retried and several nodes write the same room without locks.
 * The Postgres store expresses the same rules in SQL (`LEAST`, `GREATEST`).
 */
export function mergeRoomWrites(a: RoomWrite, b: RoomWrite): RoomWrite {
  const bNewerSize = b.documentBytesAt !== null && (a.documentBytesAt === null || b.documentBytesAt >= a.documentBytesAt);
  return {
    name: a.name,
    firstActivityAt: earliest(a.firstActivityAt, b.firstActivityAt),
    lastActivityAt: latest(a.lastActivityAt, b.lastActivityAt),
    documentBytes: bNewerSize ? b.documentBytes : a.documentBytes,
    documentBytesAt: bNewerSize ? b.documentBytesAt : a.documentBytesAt,
    peakConnections: Math.max(a.peakConnections, b.peakConnections),
    lastCheckpointAt: latestOrNull(a.lastCheckpointAt, b.lastCheckpointAt),
  };
}

export function mergeSessionWrites(a: SessionWrite, b: SessionWrite): SessionWrite {
  return {
    id: a.id,
    room: b.room,
    userId: b.userId,
    readOnly: b.readOnly,
    connectedAt: earliest(a.connectedAt, b.connectedAt),
    disconnectedAt: latestOrNull(a.disconnectedAt, b.disconnectedAt),
    messagesIn: Math.max(a.messagesIn, b.messagesIn),
    messagesOut: Math.max(a.messagesOut, b.messagesOut),
  };
}
