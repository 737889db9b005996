import { renderJsonTree } from './json-tree.js';
import { byId, element, formatBytes, formatTime } from './format.js';
import type { VersionItem } from '../../lib/dashboard/wire-types.js';

/** What the panel asks of the server, for the room that is open. */
export interface VersionsApi {
  list(room: string): Promise<{ versions: VersionItem[] }>;
  document(room: string, id: string): Promise<{ document: unknown }>;
  create(room: string, name: string | undefined): Promise<VersionItem | null>;
  restore(room: string, id: string): Promise<unknown>;
}

/**
 * A room's version history in the drawer: newest first, each with a preview of its content (the
 * JSON tree) and a restore button. Restoring is a forward change, so it needs no confirmation:
 * the previous content stays in the history (and the room gets a version of it on its next save).
 */
export class VersionsPanel {
  private room: string | null = null;
  private readonly list = byId('rv-versions');
  private readonly preview = byId('rv-version-preview');
  private readonly note = byId('rv-versions-note');

  constructor(
    private readonly api: VersionsApi,
    /** After a restore: the drawer reloads the room's document. */
    private readonly onRestored: () => void,
    private readonly onError: (error: unknown) => void,
  ) {
    byId('rv-version-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.create();
    });
  }

  open(room: string): void {
    this.room = room;
    this.note.textContent = '';
    this.preview.hidden = true;
    this.list.replaceChildren(element('span', 'muted', 'Loading…'));
    void this.load();
  }

  close(): void {
    this.room = null;
  }

  private async load(): Promise<void> {
    const room = this.room;
    if (room === null) return;
    try {
      const { versions } = await this.api.list(room);
      if (this.room === room) this.render(versions);
    } catch (error) {
      if (this.room === room) this.list.replaceChildren(element('span', 'error', message(error)));
      this.onError(error);
    }
  }

  private render(versions: VersionItem[]): void {
    byId('rv-versions-count').textContent = String(versions.length);
    if (versions.length === 0) {
      this.list.replaceChildren(element('div', 'none', 'No versions yet: one is made at each save that changed the document, or with “Create version”.'));
      return;
    }
    const table = element('table');
    const head = element('tr');
    for (const heading of ['Created', 'Version', 'By', 'Size', '']) head.append(element('th', undefined, heading));
    table.append(head);
    for (const version of versions) {
      const row = element('tr', 'version-row');
      row.dataset.version = version.id;
      const label = version.name ?? (version.kind === 'auto' ? 'automatic' : 'named');
      const actions = element('td', 'version-actions');
      const previewButton = element('button', 'link version-preview', 'Preview');
      previewButton.type = 'button';
      previewButton.addEventListener('click', () => void this.showPreview(version));
      const restoreButton = element('button', 'small-button version-restore', 'Restore');
      restoreButton.type = 'button';
      restoreButton.addEventListener('click', () => void this.restore(version, restoreButton));
      actions.append(previewButton, restoreButton);
      row.append(element('td', undefined, formatTime(version.createdAt)), element('td', version.kind === 'named' ? 'version-name' : 'muted', label), element('td', undefined, version.createdBy ?? '–'), element('td', undefined, formatBytes(version.bytes)), actions);
      table.append(row);
    }
    this.list.replaceChildren(table);
  }

  private async showPreview(version: VersionItem): Promise<void> {
    const room = this.room;
    if (room === null) return;
    this.preview.hidden = false;
    byId('rv-version-preview-title').textContent = `Version of ${formatTime(version.createdAt)}${version.name ? ` · ${version.name}` : ''}`;
    const tree = byId('rv-version-tree');
    tree.replaceChildren(element('span', 'muted', 'Loading…'));
    try {
      const { document } = await this.api.document(room, version.id);
      if (this.room === room) renderJsonTree(tree, document, 3);
    } catch (error) {
      if (this.room === room) tree.replaceChildren(element('span', 'error', message(error)));
      this.onError(error);
    }
  }

  private async restore(version: VersionItem, button: HTMLButtonElement): Promise<void> {
    const room = this.room;
    if (room === null) return;
    button.disabled = true;
    try {
      await this.api.restore(room, version.id);
      if (this.room !== room) return;
      this.note.textContent = `Restored the version of ${formatTime(version.createdAt)}. Connected users see it now.`;
      this.onRestored();
      await this.load();
    } catch (error) {
      if (this.room === room) this.note.textContent = `Restore failed: ${message(error)}`;
      this.onError(error);
    } finally {
      button.disabled = false;
    }
  }

  private async create(): Promise<void> {
    const room = this.room;
    if (room === null) return;
    const input = byId<HTMLInputElement>('rv-version-name');
    const name = input.value.trim();
    try {
      const version = await this.api.create(room, name === '' ? undefined : name);
      if (this.room !== room) return;
      input.value = '';
      this.note.textContent = `Created ${version?.name ? `“${version.name}”` : 'a version'}.`;
      await this.load();
    } catch (error) {
      if (this.room === room) this.note.textContent = `Could not create a version: ${message(error)}`;
      this.onError(error);
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
