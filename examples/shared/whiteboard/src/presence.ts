import type { OtherUser } from '../../../../client/index.js';
import { CURSOR_COLORS } from './identity.js';

/** What each user announces to the others, at most 10 times per second. */
export interface WhiteboardPresence {
  name: string;
  color: string;
  /** The pointer in board coordinates, or null when it is outside the board. */
  cursor: { x: number; y: number } | null;
  /** Ids of the shapes this user has selected (others see them outlined in the user's colour). */
  selection: string[];
  /** The name and colour were compared with the room's, and changed if someone had them (see `distinctFrom`). */
  identitySettled: boolean;
}

export interface Participant extends WhiteboardPresence {
  clientId: number;
}

/** Another user's presence, checked field by field: it arrives from any client, unchecked by the server. */
export function readParticipant(other: OtherUser<WhiteboardPresence>): Participant | null {
  const value = other.presence as Partial<Record<keyof WhiteboardPresence, unknown>> | null;
  if (!value || typeof value.name !== 'string') return null;
  const cursor = value.cursor as { x?: unknown; y?: unknown } | null | undefined;
  return {
    clientId: other.clientId,
    name: value.name.slice(0, 40) || 'Anonymous',
    color: typeof value.color === 'string' && CURSOR_COLORS.includes(value.color) ? value.color : '#868e96',
    cursor: cursor && Number.isFinite(cursor.x) && Number.isFinite(cursor.y) ? { x: cursor.x as number, y: cursor.y as number } : null,
    selection: Array.isArray(value.selection) ? value.selection.filter((id): id is string => typeof id === 'string').slice(0, 500) : [],
    identitySettled: value.identitySettled === true,
  };
}
