import type { RoomSortKey } from './metadata-store.js';

/** The fields a room list sorts on, whether a row comes from memory or from a metadata store. */
export interface SortableRoom {
  readonly name: string;
  readonly lastActivityAt: Date | null;
  readonly documentBytes: number | null;
  /** Live connections on this node; absent (0) for a room only a store knows. */
  readonly connections?: number;
}

/**
 * The room list's order: by the sort key (missing values last in either direction), then by name
 * ascending, so pages are stable. Names compare by Unicode code point, the order of Postgres'
 * `COLLATE "C"` on UTF-8, so rows from memory and from Postgres merge into one consistent list.
 */
export function roomComparator(sort: RoomSortKey, descending: boolean): (a: SortableRoom, b: SortableRoom) => number {
  const direction = descending ? -1 : 1;
  const byKey = (a: SortableRoom, b: SortableRoom): number => {
    switch (sort) {
      case 'name':
        return direction * compareCodePoints(a.name, b.name);
      case 'lastActivity':
        return compareNullable(a.lastActivityAt?.getTime() ?? null, b.lastActivityAt?.getTime() ?? null, direction);
      case 'documentBytes':
        return compareNullable(a.documentBytes, b.documentBytes, direction);
      case 'connections':
        return direction * ((a.connections ?? 0) - (b.connections ?? 0));
    }
  };
  return (a, b) => byKey(a, b) || compareCodePoints(a.name, b.name);
}

function compareNullable(a: number | null, b: number | null, direction: number): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return direction * (a - b);
}

/**
 * JavaScript's `<` compares UTF-16 code units, which puts characters above U+FFFF (emoji) before
 * U+E000–U+FFFF; code point order puts them after, like UTF-8 bytes do.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit >= 0xd800 && unit <= 0xdfff ? unit + 0x10000 : unit;
}
