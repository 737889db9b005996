import { element, formatAgo, formatBytes, roomState } from './format.js';
import type { RoomItem, RoomList, RoomsEvent, SortKey } from './types.js';

const ROW_HEIGHT = 36;
/** Rows fetched per request; a block is fetched when one of its rows scrolls into view. */
const BLOCK = 100;
/** Rows rendered beyond the visible ones, so fast scrolling shows no blank rows. */
const OVERSCAN = 10;
/** Live changes refetch the visible rows at most this often, keeping the order right without flooding the server. */
const REFRESH_INTERVAL_MS = 2_000;

export interface RoomQuery {
  readonly prefix: string;
  readonly sort: SortKey;
  readonly order: 'asc' | 'desc';
}

/**
 * The rooms table: a virtual list that renders only the visible rows and fetches the server's
 * sorted list block by block as it scrolls, so 10,000 rooms (or a million in Postgres) cost what
 * a screenful costs. Live events update visible rows in place at once; a throttled refetch then
 * brings order and new rooms in line.
 */
export class RoomsTable {
  private query: RoomQuery = { prefix: '', sort: 'lastActivity', order: 'desc' };
  private total = 0;
  private blocks = new Map<number, RoomItem[]>();
  private readonly fetching = new Set<number>();
  private generation = 0;
  private selected: string | null = null;
  private readonly flashing = new Set<string>();
  private refreshTimer: number | null = null;
  private lastRefreshAt = 0;

  constructor(
    private readonly viewport: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly totalLabel: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly note: HTMLElement,
    private readonly fetchPage: (query: RoomQuery, offset: number, limit: number) => Promise<RoomList>,
    private readonly onSelect: (name: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    viewport.addEventListener('scroll', () => this.render());
    window.addEventListener('resize', () => this.render());
  }

  get currentQuery(): RoomQuery {
    return this.query;
  }

  setQuery(change: Partial<RoomQuery>): void {
    this.query = { ...this.query, ...change };
    this.generation++;
    this.blocks.clear();
    this.viewport.scrollTop = 0;
    void this.refresh();
  }

  select(name: string | null): void {
    this.selected = name;
    this.render();
  }

  /** Applies a `rooms` event: visible rows change at once, the order follows with the next refetch. */
  applyEvent(event: RoomsEvent): void {
    const byName = new Map(event.updated.map((room) => [room.name, room]));
    const unloaded = new Set(event.unloaded);
    for (const rows of this.blocks.values()) {
      rows.forEach((row, index) => {
        const update = byName.get(row.name);
        if (update) {
          rows[index] = { ...row, ...update, peakConnections: Math.max(row.peakConnections, update.connections) };
          if (update.connections !== row.connections || !row.loaded) this.flashing.add(row.name);
        } else if (unloaded.has(row.name)) {
          rows[index] = { ...row, loaded: false, connections: 0, unsaved: false };
          this.flashing.add(row.name);
        }
      });
    }
    this.render();
    this.scheduleRefresh();
  }

  /** Refetches the blocks in view and replaces the cache with them. */
  async refresh(): Promise<void> {
    const generation = this.generation;
    this.lastRefreshAt = Date.now();
    const blocks = this.visibleBlocks();
    try {
      const pages = await Promise.all(blocks.map((block) => this.fetchPage(this.query, block * BLOCK, BLOCK)));
      if (generation !== this.generation) return;
      this.blocks = new Map(blocks.map((block, i) => [block, pages[i].rooms]));
      this.applyPageInfo(pages[pages.length - 1]);
      this.render();
    } catch (error) {
      this.onError(error);
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer !== null) return;
    const wait = Math.max(0, this.lastRefreshAt + REFRESH_INTERVAL_MS - Date.now());
    this.refreshTimer = window.setTimeout(() => {
      this.refreshTimer = null;
      void this.refresh();
    }, wait);
  }

  private applyPageInfo(page: RoomList): void {
    this.total = page.total;
    this.totalLabel.textContent = page.total.toLocaleString();
    this.spacer.style.height = `${page.total * ROW_HEIGHT}px`;
    this.empty.hidden = page.total > 0;
    this.note.textContent = page.metadata.available ? '' : `History unavailable (${page.metadata.error ?? 'metadata store failed'}): showing loaded rooms only`;
  }

  private visibleRange(): { first: number; last: number } {
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.floor((this.viewport.scrollTop + this.viewport.clientHeight) / ROW_HEIGHT) + OVERSCAN;
    return { first, last: this.total === 0 ? last : Math.min(this.total - 1, last) };
  }

  private visibleBlocks(): number[] {
    const { first, last } = this.visibleRange();
    const blocks: number[] = [];
    for (let block = Math.floor(first / BLOCK); block <= Math.floor(Math.max(first, last) / BLOCK); block++) blocks.push(block);
    return blocks;
  }

  private fetchBlock(block: number): void {
    if (this.fetching.has(block)) return;
    this.fetching.add(block);
    const generation = this.generation;
    this.fetchPage(this.query, block * BLOCK, BLOCK)
      .then((page) => {
        if (generation !== this.generation) return;
        this.blocks.set(block, page.rooms);
        this.applyPageInfo(page);
        this.render();
      })
      .catch(this.onError)
      .finally(() => this.fetching.delete(block));
  }

  /** Re-renders the visible rows (relative times age between events). */
  render(): void {
    const { first, last } = this.visibleRange();
    const rows: HTMLElement[] = [];
    for (let index = first; index <= last && index < this.total; index++) {
      const block = Math.floor(index / BLOCK);
      const room = this.blocks.get(block)?.[index % BLOCK];
      if (!room) this.fetchBlock(block);
      rows.push(this.row(index, room));
    }
    this.viewport.replaceChildren(this.spacer, ...rows);
    this.flashing.clear();
  }

  private row(index: number, room: RoomItem | undefined): HTMLElement {
    const row = element('div', 'row room-row');
    row.setAttribute('role', 'row');
    row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
    row.style.top = '0';
    if (!room) {
      row.classList.add('placeholder');
      row.append(element('span', 'cell c-name', '…'));
      return row;
    }
    row.dataset.room = room.name;
    if (room.name === this.selected) row.classList.add('selected');
    if (this.flashing.has(room.name)) row.classList.add('flash');
    const state = element('span', 'cell c-state');
    const { label, className, title } = roomState(room);
    const pill = element('span', `pill ${className}`, label);
    pill.title = title;
    state.append(pill);
    const name = element('span', 'cell c-name', room.name);
    name.title = room.nodes.length > 1 ? `${room.name}\nnodes: ${room.nodes.join(', ')}` : room.name;
    row.append(
      name,
      state,
      element('span', 'cell c-num users', String(room.connections)),
      element('span', 'cell c-num', String(room.peakConnections)),
      element('span', 'cell c-num', formatBytes(room.documentBytes)),
      element('span', 'cell c-time', formatAgo(room.lastActivityAt)),
      element('span', 'cell c-time', room.unsaved ? 'unsaved' : formatAgo(room.lastCheckpointAt)),
    );
    row.addEventListener('click', () => this.onSelect(room.name));
    return row;
  }
}
