import type { Bounds, Shape } from './model.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(name: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function setAttributes(element: Element, attributes: Record<string, string | number>): void {
  for (const [key, value] of Object.entries(attributes)) {
    const text = String(value);
    if (element.getAttribute(key) !== text) element.setAttribute(key, text);
  }
}

const round = (value: number) => Math.round(value * 10) / 10;

/** The SVG path of a shape, in board coordinates. */
export function shapePath(shape: Shape): string {
  const { x, y, w, h } = shape;
  switch (shape.type) {
    case 'rect': {
      // Slightly rounded corners read as "drawn on a whiteboard" rather than "UI box".
      const r = Math.min(6, Math.abs(w) / 2, Math.abs(h) / 2);
      return `M${round(x + r)} ${round(y)}h${round(w - 2 * r)}a${r} ${r} 0 0 1 ${r} ${r}v${round(h - 2 * r)}a${r} ${r} 0 0 1 ${-r} ${r}h${round(2 * r - w)}a${r} ${r} 0 0 1 ${-r} ${-r}v${round(2 * r - h)}a${r} ${r} 0 0 1 ${r} ${-r}z`;
    }
    case 'ellipse': {
      const rx = Math.abs(w) / 2;
      const ry = Math.abs(h) / 2;
      const cx = x + w / 2;
      const cy = y + h / 2;
      return `M${round(cx - rx)} ${round(cy)}a${round(rx)} ${round(ry)} 0 1 0 ${round(2 * rx)} 0a${round(rx)} ${round(ry)} 0 1 0 ${round(-2 * rx)} 0z`;
    }
    case 'arrow': {
      const x2 = x + w;
      const y2 = y + h;
      const angle = Math.atan2(h, w);
      const head = Math.min(Math.max(10, shape.strokeWidth * 3.5), Math.hypot(w, h) * 0.6);
      const left = [x2 - head * Math.cos(angle - Math.PI / 7), y2 - head * Math.sin(angle - Math.PI / 7)];
      const right = [x2 - head * Math.cos(angle + Math.PI / 7), y2 - head * Math.sin(angle + Math.PI / 7)];
      return `M${round(x)} ${round(y)}L${round(x2)} ${round(y2)}M${round(left[0])} ${round(left[1])}L${round(x2)} ${round(y2)}L${round(right[0])} ${round(right[1])}`;
    }
    case 'pen': {
      const p = shape.points;
      if (p.length < 2) return '';
      const at = (i: number) => `${round(x + p[i])} ${round(y + p[i + 1])}`;
      if (p.length <= 4) return `M${at(0)}L${at(p.length - 2)}`;
      // Quadratic curves through the midpoints smooth out the jitter of pointer events.
      let d = `M${at(0)}`;
      for (let i = 2; i + 3 < p.length; i += 2) {
        d += `Q${at(i)} ${round(x + (p[i] + p[i + 2]) / 2)} ${round(y + (p[i + 1] + p[i + 3]) / 2)}`;
      }
      return `${d}L${at(p.length - 2)}`;
    }
  }
}

/**
 * Keeps the `<g>` of each shape in the shapes layer in step with the document: creates, updates,
 * removes and reorders elements instead of rebuilding the layer, so a remote change to one shape
 * touches one element.
 */
export class ShapesLayer {
  private readonly elements = new Map<string, SVGGElement>();

  constructor(private readonly layer: SVGGElement) {}

  render(shapes: readonly Shape[]): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const shape of shapes) {
      seen.add(shape.id);
      let group = this.elements.get(shape.id);
      if (!group) {
        group = svg('g', { class: 'shape' });
        group.dataset.shapeId = shape.id;
        // A wide transparent copy of the path makes thin lines easy to click.
        group.append(svg('path', { class: 'hit' }), svg('path', { class: 'ink' }));
        this.elements.set(shape.id, group);
      }
      const d = shapePath(shape);
      const closed = shape.type === 'rect' || shape.type === 'ellipse';
      group.dataset.shapeType = shape.type;
      setAttributes(group.firstElementChild!, { d, 'stroke-width': Math.max(shape.strokeWidth + 12, 16), fill: closed ? 'transparent' : 'none' });
      setAttributes(group.lastElementChild!, { d, stroke: shape.stroke, 'stroke-width': shape.strokeWidth });
      const expectedNext: Element | null = previous ? previous.nextElementSibling : this.layer.firstElementChild;
      if (expectedNext !== group) this.layer.insertBefore(group, expectedNext);
      previous = group;
    }
    for (const [id, element] of this.elements) {
      if (seen.has(id)) continue;
      element.remove();
      this.elements.delete(id);
    }
  }
}

/** Outlines of selected shapes: this user's (with handles) and other users' (in their colour). */
export function renderSelections(
  layer: SVGGElement,
  own: readonly Bounds[],
  others: readonly { name: string; color: string; bounds: Bounds }[],
  marquee: Bounds | null,
): void {
  layer.replaceChildren();
  for (const { name, color, bounds } of others) {
    layer.append(svg('rect', { class: 'remote-selection', x: bounds.x - 4, y: bounds.y - 4, width: bounds.w + 8, height: bounds.h + 8, rx: 6, stroke: color }));
    // A name tag on the outline says who is working on the shape.
    const tag = svg('g', { class: 'remote-selection-tag', transform: `translate(${round(bounds.x - 4)} ${round(bounds.y - 24)})` });
    const label = svg('text', { x: 7, y: 14 });
    label.textContent = name;
    const background = svg('rect', { height: 19, rx: 5, fill: color });
    tag.append(background, label);
    layer.append(tag);
    background.setAttribute('width', String(Math.ceil(label.getComputedTextLength() + 14)));
  }
  for (const bounds of own) {
    layer.append(svg('rect', { class: 'selection', x: bounds.x - 4, y: bounds.y - 4, width: bounds.w + 8, height: bounds.h + 8, rx: 6 }));
    for (const [cx, cy] of [
      [bounds.x - 4, bounds.y - 4],
      [bounds.x + bounds.w + 4, bounds.y - 4],
      [bounds.x - 4, bounds.y + bounds.h + 4],
      [bounds.x + bounds.w + 4, bounds.y + bounds.h + 4],
    ]) {
      layer.append(svg('rect', { class: 'handle', x: cx - 4, y: cy - 4, width: 8, height: 8, rx: 2 }));
    }
  }
  if (marquee) layer.append(svg('rect', { class: 'marquee', x: marquee.x, y: marquee.y, width: marquee.w, height: marquee.h, rx: 2 }));
}
