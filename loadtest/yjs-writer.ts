/**
 * Encodes real Yjs v1 updates for one virtual writer without a Y.Doc.
 *
 * Each virtual user owns a Yjs client ID and writes to a whiteboard document:
 *   - `shapes` (Y.Map): a shape is added under a new key, or an existing own shape is moved
 *     (a map overwrite: new item whose origin is the previous item, plus a delete set);
 *   - `notes` (Y.Text): text typed at the end of the writer's own run of text.
 *
 * The bytes are exactly those a Y.Doc holding only this writer's edits would emit from
 * `doc.on('update')` for the same operations (the test suite checks this byte for byte), so the
 * updates are valid and causal for any server, which can apply them in order. Encoding them
 * directly costs a few microseconds and no memory growth, where a Y.Doc per writer would cost
 * tens of microseconds per update and grow for the whole run — the generator must stay lean.
 *
 * A latency marker (`~yL` + send time + sender) is embedded in every update's content (the shape's
 * `m` field, or the end of the typed text), so a receiver can find it with one Buffer.indexOf
 * without applying or decoding the update.
 */
import * as encoding from 'lib0/encoding';

export const SHAPES_KEY = 'shapes';
export const TEXT_KEY = 'notes';

/** Marker embedded in update content: `~yL` + 11 digits send time (µs since run start) + 7 digits sender. */
export const MARKER_PREFIX = '~yL';
export const MARKER_TIME_DIGITS = 11;
export const MARKER_SENDER_DIGITS = 7;
export const MARKER_LENGTH = MARKER_PREFIX.length + MARKER_TIME_DIGITS + MARKER_SENDER_DIGITS;

export function makeMarker(timeUs: number, sender: number): string {
  return (
    MARKER_PREFIX +
    String(Math.max(0, Math.floor(timeUs)) % 1e11).padStart(MARKER_TIME_DIGITS, '0') +
    String(sender % 1e7).padStart(MARKER_SENDER_DIGITS, '0')
  );
}

export type ShapeValue = {
  type: string;
  x: number;
  y: number;
  w: number;
  h: number;
  fill: string;
  by: string;
  m: string;
};

export type DocOp =
  | { kind: 'add'; key: string; value: ShapeValue }
  | { kind: 'move'; key: string; value: ShapeValue }
  | { kind: 'text'; text: string };

/** Relative weights of the three kinds of document edit. */
export interface DocMix {
  add: number;
  move: number;
  text: number;
}

export const DEFAULT_DOC_MIX: DocMix = { add: 30, move: 40, text: 30 };

/** Small deterministic PRNG (mulberry32), so runs are reproducible with --seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHAPE_TYPES = ['rect', 'ellipse', 'arrow', 'sticky', 'diamond', 'line'];
const COLORS = ['#f87171', '#fbbf24', '#34d399', '#60a5fa', '#a78bfa', '#f472b6', '#94a3b8', '#fde68a'];
const WORDS = (
  'the quick brown fox jumps over lazy dog we should ship this on friday let us review the plan ' +
  'draft notes meeting agenda budget design sketch arrow box idea review done next owner deadline'
).split(' ');

/** Generates a plausible stream of whiteboard edits for one writer. */
export class OpGenerator {
  private readonly rnd: () => number;
  private shapeCount = 0;
  private readonly total: number;

  constructor(
    readonly name: string,
    readonly keyPrefix: string,
    seed: number,
    readonly mix: DocMix = DEFAULT_DOC_MIX,
  ) {
    this.rnd = prng(seed);
    this.total = mix.add + mix.move + mix.text;
  }

  next(marker: string): DocOp {
    const pick = this.rnd() * this.total;
    const { mix } = this;
    if (this.shapeCount === 0 || pick < mix.add) {
      return { kind: 'add', key: `${this.keyPrefix}${this.shapeCount++}`, value: this.shape(marker) };
    }
    if (pick < mix.add + mix.move) {
      const key = `${this.keyPrefix}${Math.floor(this.rnd() * this.shapeCount)}`;
      return { kind: 'move', key, value: this.shape(marker) };
    }
    const words = 1 + Math.floor(this.rnd() * 4);
    let text = ' ';
    for (let word = 0; word < words; word++) text += WORDS[Math.floor(this.rnd() * WORDS.length)] + ' ';
    return { kind: 'text', text: text + marker };
  }

  private shape(marker: string): ShapeValue {
    const rnd = this.rnd;
    return {
      type: SHAPE_TYPES[Math.floor(rnd() * SHAPE_TYPES.length)],
      x: Math.floor(rnd() * 4000),
      y: Math.floor(rnd() * 3000),
      w: 20 + Math.floor(rnd() * 300),
      h: 20 + Math.floor(rnd() * 200),
      fill: COLORS[Math.floor(rnd() * COLORS.length)],
      by: this.name,
      m: marker,
    };
  }
}

/** Holds one writer's causal state (its clock and the IDs of its own latest items). */
export class YjsWriter {
  clock = 0;
  /** Clock of the last character of this writer's text run, or -1 before its first insert. */
  private textLast = -1;
  /** key -> clock of the item currently holding that key's value. */
  private readonly shapeItem = new Map<string, number>();

  constructor(readonly clientID: number) {}

  /** Encodes `op` as a Yjs v1 update (what `Y.encodeStateAsUpdate`-style consumers apply). */
  encode(op: DocOp): Uint8Array {
    const enc = encoding.createEncoder();
    this.write(enc, op);
    return encoding.toUint8Array(enc);
  }

  /** Writes the update for `op` into `enc` and advances this writer's state. */
  write(enc: encoding.Encoder, op: DocOp): void {
    const client = this.clientID;
    const clock = this.clock;
    encoding.writeVarUint(enc, 1); // one client's structs
    encoding.writeVarUint(enc, 1); // one struct
    encoding.writeVarUint(enc, client);
    encoding.writeVarUint(enc, clock);
    if (op.kind === 'text') {
      if (this.textLast < 0) {
        encoding.writeUint8(enc, 4); // ContentString, no origins, no parentSub
        encoding.writeVarUint(enc, 1); // parent is a root type, by name
        encoding.writeVarString(enc, TEXT_KEY);
      } else {
        encoding.writeUint8(enc, 4 | 0x80); // ContentString with left origin
        encoding.writeVarUint(enc, client);
        encoding.writeVarUint(enc, this.textLast);
      }
      encoding.writeVarString(enc, op.text);
      this.clock += op.text.length; // Yjs counts UTF-16 units; our text is ASCII
      this.textLast = this.clock - 1;
      encoding.writeVarUint(enc, 0); // empty delete set
      return;
    }
    const prev = this.shapeItem.get(op.key);
    if (prev === undefined) {
      encoding.writeUint8(enc, 8 | 0x20); // ContentAny with parentSub
      encoding.writeVarUint(enc, 1);
      encoding.writeVarString(enc, SHAPES_KEY);
      encoding.writeVarString(enc, op.key);
    } else {
      encoding.writeUint8(enc, 8 | 0x80 | 0x20); // ContentAny, left origin = previous value
      encoding.writeVarUint(enc, client);
      encoding.writeVarUint(enc, prev);
    }
    encoding.writeVarUint(enc, 1); // one value
    encoding.writeAny(enc, op.value);
    this.shapeItem.set(op.key, clock);
    this.clock += 1;
    if (prev === undefined) {
      encoding.writeVarUint(enc, 0);
    } else {
      encoding.writeVarUint(enc, 1); // delete set: the previous value
      encoding.writeVarUint(enc, client);
      encoding.writeVarUint(enc, 1);
      encoding.writeVarUint(enc, prev);
      encoding.writeVarUint(enc, 1);
    }
  }
}
