/**
 * The whiteboard page. Everything collaborative goes through the Symphony client SDK: the shapes
 * live in the room's document, cursors, names and selections in its presence, undo and redo
 * in its per-user history, and the offline copy in IndexedDB.
 */
import { createClient, type RoomStatus, type SymphonyClientError } from '../../../../client/index.js';
import { distinctFrom, initials, loadIdentity, saveIdentity } from './identity.js';
import { deleteShapes, readShape, readShapes, shapeBounds, updateShape, type ShapeMap } from './model.js';
import { readParticipant, type Participant, type WhiteboardPresence } from './presence.js';
import { renderSelections, ShapesLayer } from './render.js';
import { BoardTools, type Tool } from './tools.js';
import { CursorsLayer } from './cursors.js';

const COLORS = [
  { value: '#1e1e1e', name: 'Ink' },
  { value: '#e03131', name: 'Red' },
  { value: '#f08c00', name: 'Orange' },
  { value: '#2f9e44', name: 'Green' },
  { value: '#1971c2', name: 'Blue' },
  { value: '#6741d9', name: 'Violet' },
  { value: '#c2255c', name: 'Pink' },
];
const WIDTHS = [
  { value: 2, name: 'Thin' },
  { value: 4, name: 'Medium' },
  { value: 8, name: 'Bold' },
];
const TOOL_KEYS: Record<string, Tool> = { v: 'select', p: 'pen', r: 'rect', o: 'ellipse', a: 'arrow' };

function element<T extends Element = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page lacks #${id}`);
  return found as unknown as T;
}

/**
 * The board the bare address opens. Everyone who opens it lands on the same board, so two windows
 * opened at the quick start's address draw together; "New board" makes a board of one's own.
 */
const DEFAULT_ROOM = 'welcome';

/** The room in `?room=`, or the default one; either way the URL names it, so it can be shared. */
function roomFromUrl(): string {
  const url = new URL(location.href);
  const room = url.searchParams.get('room')?.trim();
  if (room) return room;
  url.searchParams.set('room', DEFAULT_ROOM);
  history.replaceState(null, '', url);
  return DEFAULT_ROOM;
}

/** The address of a new, empty board; `#share` opens the share box once it loaded. */
function newBoardUrl(): URL {
  const url = new URL(location.href);
  url.searchParams.set('room', `board-${Math.random().toString(36).slice(2, 10)}`);
  url.hash = 'share';
  return url;
}

// ---- the room ------------------------------------------------------------------------------

const roomName = roomFromUrl();
const identity = loadIdentity();
const client = createClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab` });
const room = client.enterRoom<WhiteboardPresence>(roomName, {
  initialPresence: { name: identity.name, color: identity.color, cursor: null, selection: [], identitySettled: false },
});
const shapes = room.map<ShapeMap>('shapes');

// ---- state of this page --------------------------------------------------------------------

let tool: Tool = 'pen';
let stroke = COLORS[0].value;
let strokeWidth = WIDTHS[1].value;
let selection = new Set<string>();
let marquee: { x: number; y: number; w: number; h: number } | null = null;

const board = element<SVGSVGElement>('board');
const shapesLayer = new ShapesLayer(element<SVGGElement>('shapes'));
const cursorsLayer = new CursorsLayer(element('cursors'));

function participants(): Participant[] {
  return room.presence
    .others()
    .map(readParticipant)
    .filter((participant): participant is Participant => participant !== null);
}

// ---- rendering: at most once per frame, whatever changed -------------------------------------

let frame = 0;
function scheduleRender(): void {
  if (frame === 0) frame = requestAnimationFrame(render);
}

function render(): void {
  frame = 0;
  const current = readShapes(shapes);
  shapesLayer.render(current);
  const byId = new Map(current.map((shape) => [shape.id, shape]));

  // A shape someone else deleted cannot stay selected.
  const stillThere = [...selection].filter((id) => byId.has(id));
  if (stillThere.length !== selection.size) setSelection(stillThere);

  const others = participants();
  const remoteSelections = others.flatMap((participant) =>
    participant.selection.flatMap((id) => {
      const shape = byId.get(id);
      return shape ? [{ name: participant.name, color: participant.color, bounds: shapeBounds(shape) }] : [];
    }),
  );
  const own = [...selection].flatMap((id) => {
    const shape = byId.get(id);
    return shape ? [shapeBounds(shape)] : [];
  });
  renderSelections(element<SVGGElement>('selections'), own, remoteSelections, marquee);
  cursorsLayer.render(others);
  renderPeople(others);
  element('empty-hint').hidden = current.length > 0;
  element<HTMLButtonElement>('delete').disabled = selection.size === 0;
}

function avatar(person: { name: string; color: string }): HTMLElement {
  const span = document.createElement('span');
  span.className = 'avatar';
  span.style.background = person.color;
  span.textContent = initials(person.name);
  span.title = person.name;
  return span;
}

function renderPeople(others: readonly Participant[]): void {
  const me = room.presence.get();
  const everyone = [{ ...me, you: true }, ...others.map((other) => ({ ...other, you: false }))];
  element('people-count').textContent = String(everyone.length);
  element('people').replaceChildren(
    ...everyone.map((person) => {
      const item = document.createElement('li');
      item.className = 'person';
      item.dataset.you = String(person.you);
      const name = document.createElement('span');
      name.className = 'person-name';
      name.textContent = person.name;
      item.append(avatar(person), name);
      if (person.you) {
        const tag = document.createElement('span');
        tag.className = 'person-tag';
        tag.textContent = 'you';
        item.append(tag);
      }
      return item;
    }),
  );
  // The top bar shows up to four faces, then "+N".
  const faces = everyone.slice(0, 4).map(avatar);
  if (everyone.length > 4) {
    const more = avatar({ name: `${everyone.length - 4} more`, color: '' });
    more.classList.add('more');
    more.textContent = `+${everyone.length - 4}`;
    faces.push(more);
  }
  element('avatars').replaceChildren(...faces.reverse());
}

function setSelection(ids: Iterable<string>): void {
  selection = new Set(ids);
  room.presence.set({ selection: [...selection] });
  scheduleRender();
}

shapes.observeDeep(scheduleRender);
room.presence.subscribe(scheduleRender);

// ---- tools -----------------------------------------------------------------------------------

new BoardTools({
  room,
  shapes,
  board,
  tool: () => tool,
  style: () => ({ stroke, strokeWidth }),
  author: () => room.presence.get().name,
  selection: () => selection,
  select: setSelection,
  showMarquee: (bounds) => {
    marquee = bounds;
    scheduleRender();
  },
});

function setTool(next: Tool): void {
  tool = next;
  board.dataset.tool = next;
  for (const button of document.querySelectorAll<HTMLButtonElement>('.tool[data-tool]')) {
    button.setAttribute('aria-pressed', String(button.dataset.tool === next));
  }
  if (next !== 'select') setSelection([]);
}

/** Picking a colour or width also restyles the selected shapes, as one undoable change. */
function restyleSelection(fields: { stroke?: string; strokeWidth?: number }): void {
  if (selection.size === 0) return;
  room.history.stopCapturing();
  room.transact(() => {
    for (const id of selection) updateShape(shapes, id, fields);
  });
}

function buildPicker<T extends string | number>(
  containerId: string,
  options: readonly { value: T; name: string }[],
  className: string,
  decorate: (button: HTMLButtonElement, value: T) => void,
  onPick: (value: T) => void,
  initial: T,
): void {
  const container = element(containerId);
  const buttons = options.map(({ value, name }) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.setAttribute('role', 'radio');
    button.setAttribute('aria-label', name);
    button.title = name;
    button.dataset.value = String(value);
    button.append(document.createElement('span'));
    decorate(button, value);
    button.addEventListener('click', () => {
      for (const other of buttons) other.setAttribute('aria-checked', String(other === button));
      onPick(value);
    });
    button.setAttribute('aria-checked', String(value === initial));
    return button;
  });
  container.replaceChildren(...buttons);
}

buildPicker(
  'swatches',
  COLORS,
  'swatch',
  (button, value) => button.style.setProperty('--swatch', value),
  (value) => {
    stroke = value;
    restyleSelection({ stroke: value });
  },
  stroke,
);
buildPicker(
  'widths',
  WIDTHS,
  'width',
  (button, value) => ((button.firstElementChild as HTMLElement).style.height = `${value}px`),
  (value) => {
    strokeWidth = value;
    restyleSelection({ strokeWidth: value });
  },
  strokeWidth,
);

for (const button of document.querySelectorAll<HTMLButtonElement>('.tool[data-tool]')) {
  button.addEventListener('click', () => setTool(button.dataset.tool as Tool));
}

// ---- undo, redo, delete ----------------------------------------------------------------------

const undoButton = element<HTMLButtonElement>('undo');
const redoButton = element<HTMLButtonElement>('redo');
function renderHistory(): void {
  undoButton.disabled = !room.canUndo();
  redoButton.disabled = !room.canRedo();
}
room.on('history', renderHistory);
undoButton.addEventListener('click', () => room.undo());
redoButton.addEventListener('click', () => room.redo());

function deleteSelection(): void {
  if (selection.size === 0) return;
  room.history.stopCapturing();
  room.transact(() => deleteShapes(shapes, selection));
  setSelection([]);
}
element('delete').addEventListener('click', deleteSelection);

document.addEventListener('keydown', (event) => {
  if (event.target instanceof HTMLInputElement) return;
  const key = event.key.toLowerCase();
  const command = event.metaKey || event.ctrlKey;
  if (command && key === 'z') {
    event.preventDefault();
    if (event.shiftKey) room.redo();
    else room.undo();
  } else if (command && key === 'y') {
    event.preventDefault();
    room.redo();
  } else if (key === 'delete' || key === 'backspace') {
    event.preventDefault();
    deleteSelection();
  } else if (key === 'escape') {
    setSelection([]);
  } else if (!command && !event.altKey && TOOL_KEYS[key]) {
    setTool(TOOL_KEYS[key]);
  } else if (command && key === 'a' && tool === 'select') {
    event.preventDefault();
    const all: string[] = [];
    shapes.forEach((map, id) => {
      if (readShape(id, map)) all.push(id);
    });
    setSelection(all);
  }
});

// ---- status, people, sharing -----------------------------------------------------------------

const STATUS_LABELS: Record<RoomStatus, string> = {
  connecting: 'Connecting…',
  connected: 'Syncing…',
  synced: 'Online',
  offline: 'Offline',
};

function describeError(error: SymphonyClientError): string {
  switch (error.code) {
    case 'auth-refused':
      return 'You no longer have access to this board.';
    case 'room-full':
      return 'This board is full. Retrying…';
    case 'message-too-large':
      return 'Your last change is too large to send. Undo it, then reload the page.';
    case 'document-too-large':
      return 'This board reached its size limit. New changes stay on this device.';
    default:
      return 'The server refused the connection.';
  }
}

function renderStatus(): void {
  const pill = element('status');
  pill.dataset.status = room.status;
  element('status-label').textContent = room.error ? 'Disconnected' : STATUS_LABELS[room.status];
  const banner = element('offline-banner');
  banner.hidden = room.status !== 'offline';
  element('offline-text').textContent = room.error
    ? describeError(room.error)
    : 'You are offline. Keep drawing: your changes are saved on this device and sync when you reconnect.';
}
room.on('status', renderStatus);
room.on('error', (error) => {
  renderStatus();
  if (error.code === 'room-full') showToast(describeError(error));
});

let toastTimer = 0;
function showToast(text: string): void {
  const toast = element('toast');
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (toast.hidden = true), 2200);
}

element('room-name').textContent = roomName;
document.title = `${roomName} · Whiteboard · Symphony`;
// A board just made with "New board" arrives with #share: its link is what the user wants next.
const arrivedToShare = location.hash === '#share';
if (arrivedToShare) history.replaceState(null, '', `${location.pathname}${location.search}`);
const shareLink = element<HTMLInputElement>('share-link');
shareLink.value = location.href;
const shareButton = element<HTMLButtonElement>('share-button');
const popover = element('share-popover');
function toggleSharePopover(): void {
  popover.hidden = !popover.hidden;
  shareButton.setAttribute('aria-expanded', String(!popover.hidden));
  if (!popover.hidden) shareLink.select();
}
shareButton.addEventListener('click', toggleSharePopover);
element('new-board').addEventListener('click', () => location.assign(newBoardUrl()));
document.addEventListener('pointerdown', (event) => {
  if (!popover.hidden && !(event.target as Element).closest('.share')) {
    popover.hidden = true;
    shareButton.setAttribute('aria-expanded', 'false');
  }
});
element('copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(shareLink.value);
  } catch {
    // Clipboard API unavailable (insecure context): the selected text can still be copied by hand.
    shareLink.select();
    document.execCommand('copy');
  }
  showToast('Link copied');
});

const nameInput = element<HTMLInputElement>('my-name');
nameInput.value = identity.name;
nameInput.addEventListener('input', () => {
  const name = nameInput.value.trim().slice(0, 40);
  if (!name) return;
  identity.name = name;
  identity.nameChosen = true;
  saveIdentity(identity);
  room.presence.set({ name });
  scheduleRender();
});

// Tabs of one browser share the stored identity, and two browsers may draw the same: whoever
// should give way (see `distinctFrom`) takes a name and a colour nobody in the room has. The
// stored identity stays as it was, so this browser's other tabs keep theirs.
let identitySettled = false;
function keepIdentityDistinct(): void {
  if (room.status !== 'synced') return;
  const me = { ...room.presence.get(), clientId: room.presence.clientId, identitySettled, nameChosen: identity.nameChosen };
  const change = distinctFrom(me, participants());
  if (identitySettled && change === null) return;
  identitySettled = true;
  room.presence.set({ ...change, identitySettled });
  if (change && document.activeElement !== nameInput) nameInput.value = change.name;
  scheduleRender();
}
room.on('status', keepIdentityDistinct);
room.presence.subscribe(keepIdentityDistinct);

setTool('pen');
if (arrivedToShare) toggleSharePopover();
renderStatus();
renderHistory();
scheduleRender();
void room.whenLoaded().then(scheduleRender);

// The app shell (this page, its script and styles) is cached by a service worker so that a reload
// without network still opens the board; the board's content comes from IndexedDB.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => console.warn('offline support unavailable:', error));
}
