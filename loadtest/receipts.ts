/**
 * Finds the send times in what a virtual user receives, without decoding or applying anything:
 * the generator must stay cheap enough to drive thousands of users from one core.
 *
 * Document updates carry a marker (`~yL` + send time + sender, see yjs-writer.ts) in their
 * content, found with Buffer.indexOf. Awareness states are JSON that starts with `{"t":<send time>`.
 */
import { MARKER_LENGTH, MARKER_PREFIX, MARKER_SENDER_DIGITS, MARKER_TIME_DIGITS } from './yjs-writer.js';

const MARKER_BYTES = Buffer.from(MARKER_PREFIX, 'latin1');
const TIME_KEY = Buffer.from('"t":', 'latin1');
const DIGIT_ZERO = 0x30;
const QUOTE = 0x22;
const LETTER_T = 0x74;
/** The shortest awareness state that can hold a send time: `{"t":0`. */
const MIN_STATE_BYTES = 6;

/**
 * Reads `digits` decimal digits at `position`; -1 if any of them is not a digit (the marker's
 * text happened to appear in user content, or was cut).
 */
function readDigits(data: Buffer, position: number, digits: number): number {
  let value = 0;
  for (let end = position + digits; position < end; position++) {
    const digit = data[position] - DIGIT_ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Calls `found` with the send time (µs) and sender of every latency marker in a document update. */
export function forEachDocMarker(data: Buffer, from: number, found: (sentAtUs: number, sender: number) => void): void {
  let start = data.indexOf(MARKER_BYTES, from);
  while (start >= 0) {
    const end = start + MARKER_LENGTH;
    if (end > data.length) return;
    const timeAt = start + MARKER_BYTES.length;
    const sentAtUs = readDigits(data, timeAt, MARKER_TIME_DIGITS);
    const sender = sentAtUs < 0 ? -1 : readDigits(data, timeAt + MARKER_TIME_DIGITS, MARKER_SENDER_DIGITS);
    if (sender < 0) {
      start = data.indexOf(MARKER_BYTES, start + 1);
      continue;
    }
    found(sentAtUs, sender);
    start = data.indexOf(MARKER_BYTES, end);
  }
}

/**
 * Calls `found` with the client id, clock and send time (µs) of every state in an awareness message
 * whose body starts at `position` (y-protocols/awareness encoding: length, count, then per client
 * its id, clock and JSON state). States without a send time are skipped.
 */
export function forEachAwarenessState(data: Buffer, position: number, found: (clientId: number, clock: number, sentAtUs: number) => void): void {
  const length = data.length;
  const readVarUint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = data[position++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80 || position >= length) return value;
      scale *= 128;
    }
  };
  readVarUint(); // length of the awareness update
  const count = readVarUint();
  for (let index = 0; index < count && position < length; index++) {
    const clientId = readVarUint();
    const clock = readVarUint();
    const stateBytes = readVarUint();
    const start = position;
    position += stateBytes;
    if (stateBytes < MIN_STATE_BYTES) continue;
    const sentAtUs = readSendTime(data, start, position);
    if (sentAtUs >= 0) found(clientId, clock, sentAtUs);
  }
}

/** The number after `"t":` in the JSON state between `start` and `end`, or -1 if there is none. */
function readSendTime(data: Buffer, start: number, end: number): number {
  // Our states start with {"t":, and a server that re-serialises the JSON keeps the key order.
  let position = data[start + 1] === QUOTE && data[start + 2] === LETTER_T && data[start + 3] === QUOTE ? start + 5 : -1;
  if (position < 0) {
    const key = data.indexOf(TIME_KEY, start);
    if (key < 0 || key >= end) return -1;
    position = key + TIME_KEY.length;
  }
  let value = 0;
  for (; position < end; position++) {
    const digit = data[position] - DIGIT_ZERO;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return value;
}
