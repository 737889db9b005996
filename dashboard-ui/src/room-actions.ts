import { byId } from './format.js';

/**
 * The drawer's actions on the whole room. Deleting asks for a confirmation in place (naming the
 * room and what is lost), because it cannot be undone: the document, its journal and its versions
 * are deleted on every node, and connected users are disconnected.
 */
export class RoomActions {
  private room: string | null = null;
  private readonly confirmation = byId('rv-delete-confirm');
  private readonly note = byId('rv-actions-note');

  constructor(
    private readonly deleteRoom: (room: string) => Promise<unknown>,
    /** After the room was deleted: the drawer closes and the list refreshes. */
    private readonly onDeleted: (room: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    byId('rv-delete').addEventListener('click', () => {
      if (this.room === null) return;
      byId('rv-delete-room').textContent = this.room;
      this.confirmation.hidden = false;
      byId('rv-delete-cancel').focus();
    });
    byId('rv-delete-cancel').addEventListener('click', () => {
      this.confirmation.hidden = true;
    });
    byId('rv-delete-confirmed').addEventListener('click', () => void this.confirmDelete());
  }

  open(room: string): void {
    this.room = room;
    this.confirmation.hidden = true;
    this.note.textContent = '';
  }

  close(): void {
    this.room = null;
    this.confirmation.hidden = true;
  }

  private async confirmDelete(): Promise<void> {
    const room = this.room;
    if (room === null) return;
    const button = byId<HTMLButtonElement>('rv-delete-confirmed');
    button.disabled = true;
    try {
      await this.deleteRoom(room);
      this.confirmation.hidden = true;
      this.onDeleted(room);
    } catch (error) {
      if (this.room === room) this.note.textContent = `Delete failed: ${error instanceof Error ? error.message : String(error)}`;
      this.onError(error);
    } finally {
      button.disabled = false;
    }
  }
}
