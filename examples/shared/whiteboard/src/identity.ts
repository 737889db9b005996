/** Who this browser is on the whiteboard: a name and a cursor colour, kept across visits. */
export interface Identity {
  name: string;
  color: string;
}

const STORAGE_KEY = 'symphony-whiteboard:identity';

/** Cursor colours: saturated enough to read on white, distinct from one another. */
export const CURSOR_COLORS = ['#e03131', '#1971c2', '#2f9e44', '#f08c00', '#6741d9', '#c2255c', '#0c8599', '#5c940d'];

const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Daring', 'Eager', 'Fuzzy', 'Gentle', 'Happy', 'Jolly', 'Keen', 'Lucky', 'Merry', 'Nimble', 'Quiet', 'Swift', 'Witty'];
const ANIMALS = ['Otter', 'Falcon', 'Panda', 'Fox', 'Heron', 'Lynx', 'Koala', 'Badger', 'Puffin', 'Gecko', 'Bison', 'Orca', 'Robin', 'Tapir', 'Wombat', 'Yak'];

const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)];

export function loadIdentity(): Identity {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Identity> | null;
    if (stored && typeof stored.name === 'string' && stored.name.trim() && typeof stored.color === 'string' && CURSOR_COLORS.includes(stored.color)) {
      return { name: stored.name.trim().slice(0, 40), color: stored.color };
    }
  } catch {
    // Unreadable or unavailable storage (private mode): a fresh identity is fine.
  }
  const identity = { name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(CURSOR_COLORS) };
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

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words[1]?.[0] ?? '')).toUpperCase();
}
