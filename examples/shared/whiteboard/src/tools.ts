import type { Room } from '../../../../client/index.js';
import { addShape, appendPenPoints, boundsIntersect, readShape, shapeBounds, updateShape, type Bounds, type Shape, type Shapes, type ShapeType } from './model.js';
import type { WhiteboardPresence } from './presence.js';

export type Tool = 'select' | ShapeType;

export interface ToolContext {
  readonly room: Room<WhiteboardPresence>;
  readonly shapes: Shapes;
  readonly board: SVGSVGElement;
  tool(): Tool;
  style(): { stroke: string; strokeWidth: number };
  author(): string;
  selection(): ReadonlySet<string>;
  select(ids: Iterable<string>): void;
  showMarquee(bounds: Bounds | null): void;
}

/** A drag shorter than this many pixels is a click: it does not create a box or an arrow. */
const CLICK_TOLERANCE_PX = 3;
/** Pen points closer than this to the previous one add size to the document but nothing visible. */
const MIN_PEN_STEP_PX = 1.5;

type Gesture =
  | { kind: 'pen'; id: string; lastX: number; lastY: number }
  | { kind: 'box'; type: Exclude<ShapeType, 'pen'>; id: string | null; startX: number; startY: number }
  | { kind: 'move'; startX: number; startY: number; origins: Map<string, { x: number; y: number }> }
  | { kind: 'marquee'; startX: number; startY: number; base: ReadonlySet<string> };

/**
 * Pointer input on the board: drawing, selecting (click, shift-click, marquee) and moving.
 *
 * Each gesture is one undo step (`history.pause()` until the pointer is released), yet every
 * intermediate change is a transaction of its own, so the others watch a stroke being drawn.
 */
export class BoardTools {
  private gesture: Gesture | null = null;

  constructor(private readonly context: ToolContext) {
    const { board } = context;
    board.addEventListener('pointerdown', this.handleDown);
    board.addEventListener('pointermove', this.handleMove);
    board.addEventListener('pointerup', this.handleUp);
    board.addEventListener('pointercancel', this.handleUp);
    board.addEventListener('pointerleave', () => context.room.presence.set({ cursor: null }));
  }

  private point(event: PointerEvent): { x: number; y: number } {
    const rect = this.context.board.getBoundingClientRect();
    return { x: Math.round((event.clientX - rect.left) * 10) / 10, y: Math.round((event.clientY - rect.top) * 10) / 10 };
  }

  private readonly handleDown = (event: PointerEvent): void => {
    if (event.button !== 0 || this.gesture) return;
    const { room, shapes } = this.context;
    const { x, y } = this.point(event);
    const tool = this.context.tool();
    this.context.board.setPointerCapture(event.pointerId);
    event.preventDefault();

    if (tool === 'select') {
      const target = (event.target as Element).closest<SVGGElement>('[data-shape-id]');
      const id = target?.dataset.shapeId;
      const selected = new Set(this.context.selection());
      if (id === undefined) {
        this.gesture = { kind: 'marquee', startX: x, startY: y, base: event.shiftKey ? selected : new Set() };
        if (!event.shiftKey) this.context.select([]);
        return;
      }
      if (event.shiftKey) {
        if (selected.has(id)) selected.delete(id);
        else selected.add(id);
        this.context.select(selected);
        return;
      }
      if (!selected.has(id)) this.context.select([id]);
      const origins = new Map<string, { x: number; y: number }>();
      for (const selectedId of this.context.selection()) {
        const shape = readShape(selectedId, shapes.get(selectedId));
        if (shape) origins.set(selectedId, { x: shape.x, y: shape.y });
      }
      room.history.pause();
      this.gesture = { kind: 'move', startX: x, startY: y, origins };
      return;
    }

    room.history.pause();
    const { stroke, strokeWidth } = this.context.style();
    if (tool === 'pen') {
      const id = room.transact(() => addShape(shapes, { type: 'pen', x, y, points: [0, 0], stroke, strokeWidth, author: this.context.author() }));
      this.gesture = { kind: 'pen', id, lastX: x, lastY: y };
    } else {
      this.gesture = { kind: 'box', type: tool, id: null, startX: x, startY: y };
    }
  };

  private readonly handleMove = (event: PointerEvent): void => {
    const { room, shapes } = this.context;
    const { x, y } = this.point(event);
    room.presence.set({ cursor: { x, y } });
    const gesture = this.gesture;
    if (!gesture) return;

    switch (gesture.kind) {
      case 'pen': {
        const added: number[] = [];
        // Coalesced events carry the positions between two animation frames: smoother strokes.
        const samples = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
        for (const sample of samples.length > 0 ? samples : [event]) {
          const point = this.point(sample);
          if (Math.hypot(point.x - gesture.lastX, point.y - gesture.lastY) < MIN_PEN_STEP_PX) continue;
          added.push(point.x, point.y);
          gesture.lastX = point.x;
          gesture.lastY = point.y;
        }
        if (added.length > 0) room.transact(() => appendPenPoints(shapes, gesture.id, added));
        return;
      }
      case 'box': {
        const dx = x - gesture.startX;
        const dy = y - gesture.startY;
        if (gesture.id === null && Math.hypot(dx, dy) < CLICK_TOLERANCE_PX) return;
        let box: { x: number; y: number; w: number; h: number };
        if (gesture.type === 'arrow') {
          box = { x: gesture.startX, y: gesture.startY, w: dx, h: dy };
        } else {
          // Shift draws a square or a circle.
          const w = event.shiftKey ? Math.sign(dx) * Math.max(Math.abs(dx), Math.abs(dy)) : dx;
          const h = event.shiftKey ? Math.sign(dy) * Math.max(Math.abs(dx), Math.abs(dy)) : dy;
          box = { x: Math.min(gesture.startX, gesture.startX + w), y: Math.min(gesture.startY, gesture.startY + h), w: Math.abs(w), h: Math.abs(h) };
        }
        room.transact(() => {
          if (gesture.id === null) {
            const { stroke, strokeWidth } = this.context.style();
            gesture.id = addShape(shapes, { type: gesture.type, ...box, stroke, strokeWidth, author: this.context.author() });
          } else {
            updateShape(shapes, gesture.id, box);
          }
        });
        return;
      }
      case 'move': {
        const dx = x - gesture.startX;
        const dy = y - gesture.startY;
        room.transact(() => {
          for (const [id, origin] of gesture.origins) updateShape(shapes, id, { x: origin.x + dx, y: origin.y + dy });
        });
        return;
      }
      case 'marquee': {
        const marquee = {
          x: Math.min(gesture.startX, x),
          y: Math.min(gesture.startY, y),
          w: Math.abs(x - gesture.startX),
          h: Math.abs(y - gesture.startY),
        };
        this.context.showMarquee(marquee);
        const hit: string[] = [...gesture.base];
        shapes.forEach((map, id) => {
          const shape: Shape | null = readShape(id, map);
          if (shape && boundsIntersect(marquee, shapeBounds(shape))) hit.push(id);
        });
        this.context.select(hit);
        return;
      }
    }
  };

  private readonly handleUp = (event: PointerEvent): void => {
    if (!this.gesture) return;
    const gesture = this.gesture;
    this.gesture = null;
    if (this.context.board.hasPointerCapture(event.pointerId)) this.context.board.releasePointerCapture(event.pointerId);
    if (gesture.kind === 'marquee') this.context.showMarquee(null);
    else this.context.room.history.resume();
  };
}
