import type { Participant } from './presence.js';

const POINTER_SVG =
  '<svg width="18" height="22" viewBox="0 0 18 22" aria-hidden="true"><path d="M1.5 1.5 L1.5 18.5 L6 14.2 L9.2 21 L12.2 19.6 L9.1 13 L15.5 13 Z" stroke="white" stroke-width="1.5" stroke-linejoin="round"/></svg>';

/** Other users' pointers with their names, positioned over the board. */
export class CursorsLayer {
  private readonly elements = new Map<number, HTMLElement>();

  constructor(private readonly layer: HTMLElement) {}

  render(participants: readonly Participant[]): void {
    const visible = new Set<number>();
    for (const participant of participants) {
      if (!participant.cursor) continue;
      visible.add(participant.clientId);
      let element = this.elements.get(participant.clientId);
      if (!element) {
        element = document.createElement('div');
        element.className = 'cursor';
        element.innerHTML = `${POINTER_SVG}<span class="cursor-name"></span>`;
        this.layer.append(element);
        this.elements.set(participant.clientId, element);
      }
      element.style.setProperty('--cursor-color', participant.color);
      element.style.transform = `translate(${participant.cursor.x}px, ${participant.cursor.y}px)`;
      const label = element.querySelector('.cursor-name')!;
      if (label.textContent !== participant.name) label.textContent = participant.name;
    }
    for (const [clientId, element] of this.elements) {
      if (visible.has(clientId)) continue;
      element.remove();
      this.elements.delete(clientId);
    }
  }
}
