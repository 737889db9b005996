/**
 * The whiteboard's shared document, kept deliberately plain so the dashboard's JSON view reads well.
 *
 * `doc.getMap('shapes')` — a `Y.Map<Y.Map>`, one entry per shape, keyed by a random id. Each
 * shape's map holds:
 *
 * | key           | shapes                 | meaning                                                            |
 * |---------------|------------------------|--------------------------------------------------------------------|
 * | `type`        | all                    | `'pen'`, `'rect'`, `'ellipse'` or `'arrow'`                        |
 * | `x`, `y`      | all                    | position in board pixels: top-left corner, pen origin, arrow start |
 * | `w`, `h`      | rect, ellipse, arrow   | size (≥ 0); for an arrow, its end relative to `x`, `y` (signed)    |
 * | `points`      | pen                    | `Y.Array<number>`: `[x0, y0, x1, y1, …]` relative to `x`, `y`      |
 * | `stroke`      | all                    | colour, `#rrggbb`                                                  |
 * | `strokeWidth` | all                    | line width in pixels                                               |
 * | `z`           | all                    | stacking order: higher is drawn on top (ties: by id)               |
 * | `author`      | all                    | name of who drew it, for people reading the JSON                   |
 *
 * Moving a shape changes only `x` and `y`, so a move and a concurrent recolour by someone else
 * merge cleanly; a pen stroke grows by appending to `points`, so a long stroke never rewrites itself.
 */
import { Y } from '../../../../client/index.js';

export type ShapeType = 'pen' | 'rect' | 'ellipse' | 'arrow';

export interface Shape {
  readonly id: string;
  readonly type: ShapeType;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** Pen points relative to `x`, `y`, flat; empty for other shapes. */
  readonly points: readonly number[];
  readonly stroke: string;
  readonly strokeWidth: number;
  readonly z: number;
  readonly author: string;
}

export type ShapeMap = Y.Map<unknown>;
export type Shapes = Y.Map<ShapeMap>;

export interface Bounds {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

const SHAPE_TYPES: ReadonlySet<string> = new Set<ShapeType>(['pen', 'rect', 'ellipse', 'arrow']);
const COLOUR = /^#[0-9a-f]{6}$/i;

/** A random id; unlike `crypto.randomUUID()` it also works on plain-http LAN addresses. */
export function newShapeId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (byte) => byte.toString(36).padStart(2, '0')).join('').slice(0, 14);
}

function finite(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * Reads a shape, or null if it is not one. Any client can write anything into the document, so
 * nothing is rendered without passing through here.
 */
export function readShape(id: string, map: unknown): Shape | null {
  if (!(map instanceof Y.Map)) return null;
  const type = map.get('type');
  if (typeof type !== 'string' || !SHAPE_TYPES.has(type)) return null;
  const stroke = map.get('stroke');
  const points = map.get('points');
  const author = map.get('author');
  return {
    id,
    type: type as ShapeType,
    x: finite(map.get('x')),
    y: finite(map.get('y')),
    w: finite(map.get('w')),
    h: finite(map.get('h')),
    points: points instanceof Y.Array ? (points.toArray() as unknown[]).map((value) => finite(value)) : [],
    stroke: typeof stroke === 'string' && COLOUR.test(stroke) ? stroke : '#1e1e1e',
    strokeWidth: Math.min(Math.max(finite(map.get('strokeWidth'), 2), 1), 40),
    z: finite(map.get('z')),
    author: typeof author === 'string' ? author.slice(0, 60) : '',
  };
}

/** Every valid shape, bottom to top. */
export function readShapes(shapes: Shapes): Shape[] {
  const out: Shape[] = [];
  shapes.forEach((map, id) => {
    const shape = readShape(id, map);
    if (shape) out.push(shape);
  });
  return out.sort((a, b) => a.z - b.z || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface NewShape {
  type: ShapeType;
  x: number;
  y: number;
  w?: number;
  h?: number;
  /** Pen only: the first points, relative to `x`, `y`. */
  points?: number[];
  stroke: string;
  strokeWidth: number;
  author: string;
}

/** Adds a shape on top of all others and returns its id. Call inside a transaction. */
export function addShape(shapes: Shapes, shape: NewShape): string {
  let top = 0;
  shapes.forEach((map) => {
    top = Math.max(top, finite(map.get('z')));
  });
  const map = new Y.Map<unknown>();
  const id = newShapeId();
  map.set('type', shape.type);
  map.set('x', shape.x);
  map.set('y', shape.y);
  if (shape.type === 'pen') {
    const points = new Y.Array<number>();
    points.push(shape.points ?? [0, 0]);
    map.set('points', points);
  } else {
    map.set('w', shape.w ?? 0);
    map.set('h', shape.h ?? 0);
  }
  map.set('stroke', shape.stroke);
  map.set('strokeWidth', shape.strokeWidth);
  map.set('z', top + 1);
  map.set('author', shape.author);
  shapes.set(id, map);
  return id;
}

/** Sets several fields of one shape (missing shapes are ignored: someone may have deleted it). */
export function updateShape(shapes: Shapes, id: string, fields: Partial<Record<'x' | 'y' | 'w' | 'h' | 'stroke' | 'strokeWidth', number | string>>): void {
  const map = shapes.get(id);
  if (!map) return;
  for (const [key, value] of Object.entries(fields)) {
    if (map.get(key) !== value) map.set(key, value);
  }
}

/** Appends points (absolute board coordinates) to a pen stroke. */
export function appendPenPoints(shapes: Shapes, id: string, absolute: readonly number[]): void {
  const map = shapes.get(id);
  const points = map?.get('points');
  if (!map || !(points instanceof Y.Array)) return;
  const x = finite(map.get('x'));
  const y = finite(map.get('y'));
  points.push(absolute.map((value, index) => Math.round((index % 2 === 0 ? value - x : value - y) * 10) / 10));
}

export function deleteShapes(shapes: Shapes, ids: Iterable<string>): void {
  for (const id of ids) shapes.delete(id);
}

/** The box a shape covers, including its stroke. */
export function shapeBounds(shape: Shape): Bounds {
  let minX: number;
  let minY: number;
  let maxX: number;
  let maxY: number;
  if (shape.type === 'pen') {
    minX = minY = Number.POSITIVE_INFINITY;
    maxX = maxY = Number.NEGATIVE_INFINITY;
    for (let i = 0; i + 1 < shape.points.length; i += 2) {
      minX = Math.min(minX, shape.points[i]);
      maxX = Math.max(maxX, shape.points[i]);
      minY = Math.min(minY, shape.points[i + 1]);
      maxY = Math.max(maxY, shape.points[i + 1]);
    }
    if (minX === Number.POSITIVE_INFINITY) minX = minY = maxX = maxY = 0;
    minX += shape.x;
    maxX += shape.x;
    minY += shape.y;
    maxY += shape.y;
  } else {
    minX = Math.min(shape.x, shape.x + shape.w);
    maxX = Math.max(shape.x, shape.x + shape.w);
    minY = Math.min(shape.y, shape.y + shape.h);
    maxY = Math.max(shape.y, shape.y + shape.h);
  }
  const pad = shape.strokeWidth / 2 + (shape.type === 'arrow' ? shape.strokeWidth * 2 + 6 : 0);
  return { x: minX - pad, y: minY - pad, w: maxX - minX + 2 * pad, h: maxY - minY + 2 * pad };
}

export function boundsIntersect(a: Bounds, b: Bounds): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
