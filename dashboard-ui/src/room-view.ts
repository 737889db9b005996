import { collapseAll, expandAll, renderJsonTree } from './json-tree.js';
import { byId, element, formatAge, formatAgo, formatBytes, formatDuration, formatTime, roomState, shortId } from './format.js';
import type { RoomDetails, RoomItem, RoomsEvent } from '../../lib/dashboard/wire-types.js';

/** A part of the drawer that follows the open room (versions, actions). */
export interface RoomViewPart {
  open(room: string): void;
  close(): void;
}

/** Live changes reload the open room at most this often. */
const RELOAD_INTERVAL_MS = 1_000;

/**
 * The room drawer: what the room is now (connections, presence), what it was (sessions), and its
 * document as a collapsible JSON tree, the debugging aid for an app that stores state wrongly.
 */
export class RoomView {
  private name: string | null = null;
  private document: unknown = null;
  private reloadTimer: number | null = null;
  private readonly drawer = byId('room-view');
  private readonly documentView = byId('rv-document');

  constructor(
    private readonly fetchDetails: (name: string) => Promise<RoomDetails>,
    private readonly fetchDocument: (name: string) => Promise<{ document: unknown }>,
    private readonly onClose: () => void,
    private readonly onError: (error: unknown) => void,
    /** The id of the node serving the page, once known: its row is marked. */
    private readonly thisNode: () => string | null,
    /** Closes connections of a room on the node serving the page (all of them with an empty filter). */
    private readonly disconnect: (name: string, filter: { connectionId?: string }) => Promise<{ closed: number }>,
    private readonly parts: readonly RoomViewPart[] = [],
  ) {
    byId('rv-close').addEventListener('click', () => this.close());
    byId('rv-refresh').addEventListener('click', () => void this.loadDocument());
    byId('rv-expand').addEventListener('click', () => expandAll(this.documentView));
    byId('rv-collapse').addEventListener('click', () => collapseAll(this.documentView));
    byId('rv-disconnect-all').addEventListener('click', () => void this.disconnectConnections({}));
    byId('rv-copy').addEventListener('click', () => void navigator.clipboard?.writeText(JSON.stringify(this.document, null, 2)));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.name !== null) this.close();
    });
  }

  get current(): string | null {
    return this.name;
  }

  open(name: string): void {
    this.name = name;
    this.drawer.hidden = false;
    byId('rv-name').textContent = name;
    byId('rv-facts').replaceChildren();
    byId('rv-connections').replaceChildren();
    byId('rv-sessions').replaceChildren();
    byId('rv-presence').replaceChildren();
    byId('rv-cluster').hidden = true;
    byId('rv-holders').replaceChildren();
    this.documentView.replaceChildren(element('span', 'muted', 'Loading…'));
    for (const part of this.parts) part.open(name);
    void this.loadDetails();
    void this.loadDocument();
  }

  close(): void {
    if (this.name === null) return;
    this.name = null;
    this.drawer.hidden = true;
    for (const part of this.parts) part.close();
    this.onClose();
  }

  /** Reloads the document, e.g. after a version was restored. */
  refreshDocument(): void {
    void this.loadDocument();
  }

  /** Reloads the details when a `rooms` event concerns the open room. */
  applyEvent(event: RoomsEvent): void {
    const name = this.name;
    if (name === null || this.reloadTimer !== null) return;
    if (!event.updated.some((room) => room.name === name) && !event.unloaded.includes(name)) return;
    this.reloadTimer = window.setTimeout(() => {
      this.reloadTimer = null;
      void this.loadDetails();
    }, RELOAD_INTERVAL_MS);
  }

  private async loadDetails(): Promise<void> {
    const name = this.name;
    if (name === null) return;
    try {
      const details = await this.fetchDetails(name);
      if (this.name === name) this.renderDetails(details);
    } catch (error) {
      if (this.name === name) byId('rv-facts').replaceChildren(element('span', 'error', String(error instanceof Error ? error.message : error)));
      this.onError(error);
    }
  }

  private async loadDocument(): Promise<void> {
    const name = this.name;
    if (name === null) return;
    try {
      const { document } = await this.fetchDocument(name);
      if (this.name !== name) return;
      this.document = document;
      // Open to the entries of each top-level type (shapes, paragraphs), collapsed below.
      renderJsonTree(this.documentView, document, 3);
    } catch (error) {
      if (this.name === name) this.documentView.replaceChildren(element('span', 'error', String(error instanceof Error ? error.message : error)));
      this.onError(error);
    }
  }

  private renderDetails(details: RoomDetails): void {
    const { room, connections, presence, sessions, metadata } = details;
    const fact = (label: string, value: string): HTMLElement => {
      const box = element('div', 'fact');
      box.append(element('span', 'label', label), element('span', 'value', value));
      return box;
    };
    byId('rv-facts').replaceChildren(
      fact('State', room.unsaved ? `${roomState(room).label} · unsaved changes` : roomState(room).label),
      fact('Storage', storageState(room)),
      fact('Users now', String(room.connections)),
      fact('Peak users', String(room.peakConnections)),
      fact('Document', formatBytes(room.documentBytes)),
      fact('First activity', formatAgo(room.firstActivityAt)),
      fact('Last activity', formatAgo(room.lastActivityAt)),
      fact('Last saved', formatAgo(room.lastCheckpointAt)),
      fact('Nodes', room.nodes.length > 0 ? room.nodes.map(shortId).join(', ') : '–'),
      fact('History', metadata.available ? 'recorded' : `unavailable: ${metadata.error ?? ''}`),
    );
    this.renderHolders(details);
    byId('rv-connections-count').textContent = String(connections.length);
    const connectionsTable = table(
      ['User', 'Connected', 'Access', 'Msgs in', 'Msgs out', ''],
      connections.map((connection) => [
        connection.userId,
        `${formatTime(connection.connectedAt)} (${formatDuration(Date.now() - Date.parse(connection.connectedAt))})`,
        connection.readOnly ? 'read-only' : 'edit',
        String(connection.messagesIn),
        String(connection.messagesOut),
        '',
      ]),
      'No one is connected on this node.',
    );
    // Each row ends with its Disconnect button (rows follow the header, in the order of `connections`).
    connectionsTable.querySelectorAll('tr').forEach((row, index) => {
      const connection = connections[index - 1];
      if (!connection) return;
      row.dataset.connection = connection.id;
      const button = element('button', 'small-button', 'Disconnect');
      button.setAttribute('type', 'button');
      button.title = 'Close with 4401: the client signs in again, and authenticate decides';
      button.addEventListener('click', () => void this.disconnectConnections({ connectionId: connection.id }));
      row.lastElementChild?.replaceChildren(button);
    });
    byId('rv-connections').replaceChildren(connectionsTable);
    byId('rv-disconnect-all').hidden = connections.length === 0;
    const presenceView = byId('rv-presence');
    if (presence.length === 0) presenceView.replaceChildren(element('span', 'muted', 'No presence states.'));
    else renderJsonTree(presenceView, Object.fromEntries(presence.map(({ clientId, state }) => [String(clientId), state])), 3);
    byId('rv-sessions').replaceChildren(
      table(
        ['User', 'Node', 'Connected', 'Duration', 'Msgs in/out'],
        sessions.map((session) => [
          session.userId,
          shortId(session.nodeId),
          formatTime(session.connectedAt),
          session.disconnectedAt ? formatDuration(Date.parse(session.disconnectedAt) - Date.parse(session.connectedAt)) : session.state === 'lost' ? 'lost (node gone)' : 'open',
          `${session.messagesIn} / ${session.messagesOut}`,
        ]),
        metadata.available ? 'No sessions recorded yet.' : 'Session history is unavailable.',
      ),
    );
  }

  /**
   * Closes connections and removes their rows at once. The details are not reloaded here: the
   * server lists a connection until its close handshake ends; the `rooms` event that follows
   * reloads them (see `applyEvent`).
   */
  private async disconnectConnections(filter: { connectionId?: string }): Promise<void> {
    const name = this.name;
    if (name === null) return;
    try {
      await this.disconnect(name, filter);
      if (this.name !== name) return;
      const rows = byId('rv-connections').querySelectorAll<HTMLElement>('tr[data-connection]');
      for (const row of rows) if (filter.connectionId === undefined || row.dataset.connection === filter.connectionId) row.remove();
      byId('rv-connections-count').textContent = String(byId('rv-connections').querySelectorAll('tr[data-connection]').length);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Cluster mode: the nodes holding the room and which one writes it. Hidden on a single node. */
  private renderHolders({ holders, writer, cluster }: RoomDetails): void {
    const section = byId('rv-cluster');
    section.hidden = cluster === undefined;
    if (cluster === undefined) return;
    const view = byId('rv-holders');
    if (!cluster.available) {
      byId('rv-holders-count').textContent = '';
      byId('rv-writer').textContent = '';
      view.replaceChildren(element('div', 'none error', `The cluster registry could not be read: ${cluster.error}`));
      return;
    }
    const held = holders ?? [];
    byId('rv-holders-count').textContent = String(held.length);
    byId('rv-writer').textContent = writer ? `written by ${shortId(writer)}` : 'no writer right now';
    if (held.length === 0) {
      view.replaceChildren(element('div', 'none', 'No node holds this room right now.'));
      return;
    }
    const result = element('table');
    const head = element('tr');
    for (const heading of ['Node', 'Internal URL', 'Heartbeat', 'Role']) head.append(element('th', undefined, heading));
    result.append(head);
    for (const holder of held) {
      const row = element('tr');
      row.dataset.node = holder.nodeId;
      const name = element('td', 'mono', shortId(holder.nodeId));
      name.title = holder.nodeId;
      if (holder.nodeId === this.thisNode()) name.append(' ', element('span', 'pill pill-self', 'this node'));
      const role = element('td', 'role');
      role.append(holder.nodeId === writer ? element('span', 'pill pill-writer', 'writer') : element('span', 'pill pill-stored', 'replica'));
      row.append(name, element('td', 'mono', holder.url), element('td', undefined, formatAge(cluster.readAt - holder.heartbeatAt)), role);
      result.append(row);
    }
    view.replaceChildren(result);
  }
}

/** How the room's storage stands: an operator reads here which files were quarantined and whether edits are refused. */
function storageState(room: RoomItem): string {
  if (!room.loaded) return '–';
  const parts: string[] = [];
  if (!room.writable) parts.push('not writing: edits refused until the disk recovers');
  for (const damage of room.storageDamage) parts.push(`damaged ${damage.kind} ${damage.file}, kept as ${damage.quarantinedAs}`);
  return parts.length > 0 ? parts.join(' · ') : 'intact';
}

function table(headings: string[], rows: string[][], emptyText: string): HTMLElement {
  if (rows.length === 0) return element('div', 'none', emptyText);
  const result = element('table');
  const head = element('tr');
  for (const heading of headings) head.append(element('th', undefined, heading));
  result.append(head);
  for (const cells of rows) {
    const row = element('tr');
    for (const cell of cells) row.append(element('td', undefined, cell));
    result.append(row);
  }
  return result;
}
