/** Who this browser is on the whiteboard: a name and a cursor colour, kept across visits. */
export interface Identity {
  name: string;
  color: string;
  /** The user typed the name: it is theirs to keep, even if someone else in the room has it too. */
  nameChosen: boolean;
}

const STORAGE_KEY = 'symphony-whiteboard:identity';

/** Cursor colours: saturated enough to read on white, distinct from one another. */
export const CURSOR_COLORS = ['#e03131', '#1971c2', '#2f9e44', '#f08c00', '#6741d9', '#c2255c', '#0c8599', '#5c940d'];

const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Daring', 'Eager', 'Fuzzy', 'Gentle', 'Happy', 'Jolly', 'Keen', 'Lucky', 'Merry', 'Nimble', 'Quiet', 'Swift', 'Witty'];
const ANIMALS = ['Otter', 'Falcon', 'Panda', 'Fox', 'Heron', 'Lynx', 'Koala', 'Badger', 'Puffin', 'Gecko', 'Bison', 'Orca', 'Robin', 'Tapir', 'Wombat', 'Yak'];
const GENERATED_NAMES = ADJECTIVES.flatMap((adjective) => ANIMALS.map((animal) => `${adjective} ${animal}`));

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)];

/** A value of `values` that `taken` lacks, at random; null when every one is taken. */
function pickFree<T>(values: readonly T[], taken: ReadonlySet<T>): T | null {
  const free = values.filter((value) => !taken.has(value));
  return free.length > 0 ? pick(free) : null;
}

/**
 * The identity this browser used last. Every tab of a browser shares it (localStorage), so two
 * windows opened side by side start with the same name and colour: `distinctFrom` then tells one
 * of them to change.
 */
export function loadIdentity(): Identity {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Identity> | null;
    if (stored && typeof stored.name === 'string' && stored.name.trim() && typeof stored.color === 'string' && CURSOR_COLORS.includes(stored.color)) {
      return { name: stored.name.trim().slice(0, 40), color: stored.color, nameChosen: stored.nameChosen === true };
    }
  } catch {
    // Unreadable or unavailable storage (private mode): a fresh identity is fine.
  }
  const identity = { name: pick(GENERATED_NAMES), color: pick(CURSOR_COLORS), nameChosen: false };
  saveIdentity(identity);
  return identity;
}

export function saveIdentity(identity: Identity): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(identity));
  } catch {
    // Storage full or disabled: the name lasts for this visit only.
  }
}

/** Another person in the room, as far as telling people apart goes. */
export interface RoomMember {
  clientId: number;
  name: string;
  color: string;
  /** It has already compared its identity with the room's (see `distinctFrom`). */
  identitySettled: boolean;
}

/**
 * The name and colour this user should switch to so that nobody in the room shares a generated
 * name or a colour with someone else, or null to keep its own.
 *
 * A newcomer (`identitySettled` false, at its first sync) avoids everyone already there, so the people
 * already drawing keep theirs. Two newcomers who joined at once did not see each other: once both
 * settled, the one with the lower client id keeps the identity and the other picks again. A name
 * the user typed is never replaced; a colour is kept when all eight are in use.
 */
export function distinctFrom(me: RoomMember & { nameChosen: boolean }, others: readonly RoomMember[]): { name: string; color: string } | null {
  const rivals = me.identitySettled ? others.filter((other) => other.identitySettled && other.clientId < me.clientId) : others;
  const nameClash = !me.nameChosen && rivals.some((other) => other.name === me.name);
  const colorClash = rivals.some((other) => other.color === me.color);
  const name = nameClash ? pickFree(GENERATED_NAMES, new Set(others.map((other) => other.name))) ?? me.name : me.name;
  const color = colorClash ? pickFree(CURSOR_COLORS, new Set(others.map((other) => other.color))) ?? me.color : me.color;
  return name === me.name && color === me.color ? null : { name, color };
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words[1]?.[0] ?? '')).toUpperCase();
}
