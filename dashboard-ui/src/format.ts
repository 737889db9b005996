import type { RoomItem } from './types.js';

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatNumber(value: number): string {
  return value >= 10_000 ? `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)}k` : String(Math.round(value * 10) / 10);
}

/** "1 checkpoint", "2 checkpoints", "12.3k checkpoints": `noun` is the singular. */
export function formatCount(count: number, noun: string): string {
  return `${formatNumber(count)} ${count === 1 ? noun : `${noun}s`}`;
}

/** What a room's state pill says and how it looks. */
export interface RoomState {
  readonly label: 'live' | 'stored' | 'never saved';
  readonly className: 'pill-live' | 'pill-stored' | 'pill-unsaved';
  readonly title: string;
}

/**
 * Loaded in this node's memory, or else saved in the store. A room that is not loaded and has no
 * recorded checkpoint was never saved (people came and left without changing it): calling it
 * "stored" would promise a document that is not there.
 */
export function roomState(room: Pick<RoomItem, 'loaded' | 'lastCheckpointAt'>): RoomState {
  if (room.loaded) return { label: 'live', className: 'pill-live', title: 'Loaded in memory on this node' };
  if (room.lastCheckpointAt !== null) return { label: 'stored', className: 'pill-stored', title: 'Saved in the document store, not loaded' };
  return { label: 'never saved', className: 'pill-unsaved', title: 'No checkpoint of this room is recorded' };
}

/** "12 s ago", "5 min ago", or a date for anything older than a day. */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (iso === null) return '–';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** How long ago a heartbeat was, to the tenth of a second while it is recent ("0.4 s ago"). */
export function formatAge(ms: number): string {
  const age = Math.max(0, ms);
  if (age < 60_000) return `${(age / 1000).toFixed(1)} s ago`;
  return `${formatDuration(age)} ago`;
}

/** A node id short enough for a table cell (random UUIDs by default); the full id goes in the title. */
export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString();
}

/** A room name as one URL path segment. Dots are encoded too: `..` must not be read as a relative path. */
export function roomSegment(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E');
}

/** Creates an element with a class and text, the page's only way of putting data into the DOM (never innerHTML). */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}
