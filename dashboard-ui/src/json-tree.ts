import { element } from './format.js';

/** Children of a branch are shown this many at a time: a whiteboard may hold tens of thousands of shapes. */
const CHUNK = 200;
/** Expand all stops after this many branches, so one click cannot freeze the tab on a huge document. */
const EXPAND_ALL_LIMIT = 5_000;

const fillers = new WeakMap<HTMLDetailsElement, () => void>();

/**
 * A collapsible JSON tree built from `<details>` elements. Branches render their children the
 * first time they open, so a large document costs only what is looked at.
 */
export function renderJsonTree(container: HTMLElement, value: unknown, openDepth = 2): void {
  container.replaceChildren(node(null, value, 0, openDepth));
}

export function expandAll(container: HTMLElement): void {
  let expanded = 0;
  const pending = [...container.querySelectorAll('details')];
  while (pending.length > 0 && expanded < EXPAND_ALL_LIMIT) {
    const details = pending.shift() as HTMLDetailsElement;
    fillers.get(details)?.();
    details.open = true;
    expanded++;
    pending.push(...details.querySelectorAll<HTMLDetailsElement>(':scope > .children > details'));
  }
}

export function collapseAll(container: HTMLElement): void {
  container.querySelectorAll('details').forEach((details, index) => {
    details.open = index === 0;
  });
}

function node(key: string | null, value: unknown, depth: number, openDepth: number): HTMLElement {
  if (value === null || typeof value !== 'object') {
    const leaf = element('div', 'leaf');
    if (key !== null) leaf.append(element('span', 'key', key), ': ');
    leaf.append(primitive(value));
    return leaf;
  }
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  const details = element('details');
  const summary = element('summary');
  if (key !== null) summary.append(element('span', 'key', key), ': ');
  const hint = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? '' : 's'}]` : `{${entries.length} key${entries.length === 1 ? '' : 's'}}`;
  summary.append(element('span', 'summary-hint', hint));
  details.append(summary);
  const children = element('div', 'children');
  details.append(children);

  let shown = 0;
  const showMore = (): void => {
    const end = Math.min(entries.length, shown + CHUNK);
    children.querySelector(':scope > .more')?.remove();
    for (; shown < end; shown++) children.append(node(entries[shown][0], entries[shown][1], depth + 1, openDepth));
    if (shown < entries.length) {
      const more = element('button', 'link more', `Show ${Math.min(CHUNK, entries.length - shown)} more of ${entries.length - shown}`);
      more.type = 'button';
      more.addEventListener('click', showMore);
      children.append(more);
    }
  };
  let filled = false;
  const fill = (): void => {
    if (filled) return;
    filled = true;
    showMore();
  };
  fillers.set(details, fill);
  details.addEventListener('toggle', () => {
    if (details.open) fill();
  });
  if (depth < openDepth) {
    fill();
    details.open = true;
  }
  return details;
}

function primitive(value: unknown): HTMLElement {
  if (typeof value === 'string') return element('span', 'string', JSON.stringify(value));
  if (typeof value === 'number') return element('span', 'number', String(value));
  if (typeof value === 'boolean') return element('span', 'boolean', String(value));
  return element('span', 'null', 'null');
}
