import { isUtf8 } from 'node:buffer';

/**
 * Checks that bytes are one JSON text (RFC 8259), as `JSON.parse` would accept them, without
 * building the value. Presence states are checked on every accepted update and never used by the
 * server: building and collecting the objects `JSON.parse` makes cost several times the check.
 * Nesting is followed with a reused byte stack, not recursion, so a deeply nested state cannot
 * overflow the call stack.
 */

const OBJECT = 1;
const ARRAY = 2;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Open containers of the text being checked; grown when a deeper text comes, never shrunk. */
let stack = new Uint8Array(64);

const isDigit = (byte: number) => byte >= ZERO && byte <= NINE;
/** The byte at `pos`, or -1 past the end: reading past a typed array's end would deoptimize the checks. */
const byteAt = (bytes: Uint8Array, pos: number) => (pos < bytes.length ? bytes[pos] : -1);
const isHexDigit = (byte: number) => isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);

/** Whether `bytes` are valid UTF-8 holding exactly one JSON value (with optional whitespace around it). */
export function isJsonText(bytes: Uint8Array): boolean {
  return isUtf8(bytes) && isJsonSyntax(bytes);
}

/** The JSON grammar over bytes; UTF-8 validity is `isUtf8`'s job. */
function isJsonSyntax(bytes: Uint8Array): boolean {
  const end = bytes.length;
  if (stack.length < end) stack = new Uint8Array(Math.max(end, stack.length * 2));
  let depth = 0;
  let pos = skipWhitespace(bytes, 0);
  for (;;) {
    // A value starts at `pos`.
    if (pos >= end) return false;
    const byte = bytes[pos];
    if (byte === 0x7b /* { */ || byte === 0x5b /* [ */) {
      const kind = byte === 0x7b ? OBJECT : ARRAY;
      stack[depth++] = kind;
      pos = skipWhitespace(bytes, pos + 1);
      if (byteAt(bytes, pos) === (kind === OBJECT ? 0x7d : 0x5d)) {
        depth--;
        pos++;
      } else {
        if (kind === OBJECT && (pos = member(bytes, pos)) < 0) return false;
        continue;
      }
    } else if (byte === QUOTE) {
      if ((pos = string(bytes, pos)) < 0) return false;
    } else if (byte === MINUS || isDigit(byte)) {
      if ((pos = number(bytes, pos)) < 0) return false;
    } else if ((pos = literal(bytes, pos)) < 0) {
      return false;
    }
    // A value ended at `pos`: what follows depends on the container it is in.
    for (;;) {
      pos = skipWhitespace(bytes, pos);
      if (depth === 0) return pos === end;
      const kind = stack[depth - 1];
      const next = byteAt(bytes, pos);
      if (next === COMMA) {
        pos = skipWhitespace(bytes, pos + 1);
        if (kind === OBJECT && (pos = member(bytes, pos)) < 0) return false;
        break;
      }
      if (next !== (kind === OBJECT ? 0x7d : 0x5d)) return false;
      depth--;
      pos++;
    }
  }
}

/** Reads `"key" :` at `pos`; returns where the member's value starts, or -1. */
function member(bytes: Uint8Array, pos: number): number {
  if (byteAt(bytes, pos) !== QUOTE) return -1;
  pos = string(bytes, pos);
  if (pos < 0) return -1;
  pos = skipWhitespace(bytes, pos);
  if (byteAt(bytes, pos) !== COLON) return -1;
  return skipWhitespace(bytes, pos + 1);
}

/** Reads a string starting at its opening quote; returns the position after its closing quote, or -1. */
function string(bytes: Uint8Array, pos: number): number {
  const end = bytes.length;
  pos++;
  while (pos < end) {
    const byte = bytes[pos];
    if (byte === QUOTE) return pos + 1;
    if (byte < 0x20) return -1;
    if (byte !== BACKSLASH) {
      pos++;
      continue;
    }
    const escaped = byteAt(bytes, pos + 1);
    if (escaped === 0x75 /* u */) {
      if (pos + 6 > end) return -1;
      for (let i = pos + 2; i < pos + 6; i++) if (!isHexDigit(bytes[i])) return -1;
      pos += 6;
    } else if (
      escaped === QUOTE ||
      escaped === BACKSLASH ||
      escaped === 0x2f /* / */ ||
      escaped === 0x62 /* b */ ||
      escaped === 0x66 /* f */ ||
      escaped === 0x6e /* n */ ||
      escaped === 0x72 /* r */ ||
      escaped === 0x74 /* t */
    ) {
      pos += 2;
    } else {
      return -1;
    }
  }
  return -1;
}

/** Reads `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; returns the position after it, or -1. */
function number(bytes: Uint8Array, pos: number): number {
  if (byteAt(bytes, pos) === MINUS) pos++;
  if (byteAt(bytes, pos) === ZERO) pos++;
  else if (isDigit(byteAt(bytes, pos))) pos = digits(bytes, pos);
  else return -1;
  if (byteAt(bytes, pos) === DOT) {
    if (!isDigit(byteAt(bytes, pos + 1))) return -1;
    pos = digits(bytes, pos + 1);
  }
  const exponent = byteAt(bytes, pos);
  if (exponent === 0x65 /* e */ || exponent === 0x45 /* E */) {
    pos++;
    const sign = byteAt(bytes, pos);
    if (sign === PLUS || sign === MINUS) pos++;
    if (!isDigit(byteAt(bytes, pos))) return -1;
    pos = digits(bytes, pos);
  }
  return pos;
}

function digits(bytes: Uint8Array, pos: number): number {
  while (isDigit(byteAt(bytes, pos))) pos++;
  return pos;
}

const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65]);
const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c]);

/** Reads `true`, `false` or `null`; returns the position after it, or -1. */
function literal(bytes: Uint8Array, pos: number): number {
  const first = bytes[pos];
  const word = first === TRUE[0] ? TRUE : first === FALSE[0] ? FALSE : first === NULL[0] ? NULL : null;
  if (word === null || pos + word.length > bytes.length) return -1;
  for (let i = 1; i < word.length; i++) if (bytes[pos + i] !== word[i]) return -1;
  return pos + word.length;
}

function skipWhitespace(bytes: Uint8Array, pos: number): number {
  const end = bytes.length;
  while (pos < end) {
    const byte = bytes[pos];
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return pos;
    pos++;
  }
  return pos;
}
