import { crc32 } from 'node:zlib';

/**
 * The on-disk framing of journals and snapshots. One record is
 *
 *   u32 magic, u32 payload length, u32 crc32(magic + length), payload, u32 crc32(payload)
 *
 * little endian: 16 bytes around each payload. The magic and the header's own checksum let a
 * reader find the next record after damaged bytes (resynchronise) without trusting a damaged
 * length, and tell the two endings of a file apart:
 * - a torn tail: the last record is incomplete (its header, or the bytes its header promises, run
 *   past the end of the file). A process killed in the middle of a write leaves exactly that.
 * - damage: bytes that do not parse, followed by more data, or a complete record whose payload
 *   checksum fails. A crash never produces it; a failing disk or a stray write does.
 */
const MAGIC = 0x314a5953; // "SYJ1" read as little endian
const MAGIC_BYTES = Buffer.from([0x53, 0x59, 0x4a, 0x31]);
const HEADER_BYTES = 12;
const TRAILER_BYTES = 4;
export const RECORD_OVERHEAD_BYTES = HEADER_BYTES + TRAILER_BYTES;

/** The bytes around one payload: write `header, payload, trailer` (no copy of the payload needed). */
export function recordFrame(payload: Uint8Array): { header: Buffer; trailer: Buffer } {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(payload.byteLength, 4);
  header.writeUInt32LE(crc32(header.subarray(0, 8)), 8);
  const trailer = Buffer.allocUnsafe(TRAILER_BYTES);
  trailer.writeUInt32LE(crc32(payload), 0);
  return { header, trailer };
}

export function encodeRecords(updates: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const update of updates) total += RECORD_OVERHEAD_BYTES + update.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const update of updates) {
    out.writeUInt32LE(MAGIC, offset);
    out.writeUInt32LE(update.byteLength, offset + 4);
    out.writeUInt32LE(crc32(out.subarray(offset, offset + 8)), offset + 8);
    out.set(update, offset + HEADER_BYTES);
    out.writeUInt32LE(crc32(update), offset + HEADER_BYTES + update.byteLength);
    offset += RECORD_OVERHEAD_BYTES + update.byteLength;
  }
  return out;
}

export interface DecodedRecords {
  readonly updates: Uint8Array[];
  /** Bytes of an incomplete last record (a torn write): expected after a crash, ignored. */
  readonly tornBytes: number;
  /** Bytes that failed to parse anywhere else: damage. The records around them are kept. */
  readonly damagedBytes: number;
}

type Probe = { kind: 'record'; end: number } | { kind: 'torn' } | { kind: 'invalid' };

function probe(buffer: Buffer, offset: number): Probe {
  if (offset + HEADER_BYTES > buffer.length) {
    // Too short for a header: torn if what is there is the start of one.
    const rest = buffer.subarray(offset, Math.min(buffer.length, offset + 4));
    return rest.equals(MAGIC_BYTES.subarray(0, rest.length)) ? { kind: 'torn' } : { kind: 'invalid' };
  }
  if (buffer.readUInt32LE(offset) !== MAGIC) return { kind: 'invalid' };
  if (crc32(buffer.subarray(offset, offset + 8)) !== buffer.readUInt32LE(offset + 8)) return { kind: 'invalid' };
  const end = offset + RECORD_OVERHEAD_BYTES + buffer.readUInt32LE(offset + 4);
  if (end > buffer.length) return { kind: 'torn' };
  const payload = buffer.subarray(offset + HEADER_BYTES, end - TRAILER_BYTES);
  return crc32(payload) === buffer.readUInt32LE(end - TRAILER_BYTES) ? { kind: 'record', end } : { kind: 'invalid' };
}

/** Every intact record of a journal, skipping damaged bytes to the next valid record. */
export function decodeRecords(data: Uint8Array): DecodedRecords {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const updates: Uint8Array[] = [];
  let damagedBytes = 0;
  let offset = 0;
  while (offset < buffer.length) {
    const found = probe(buffer, offset);
    if (found.kind === 'record') {
      updates.push(buffer.subarray(offset + HEADER_BYTES, found.end - TRAILER_BYTES));
      offset = found.end;
      continue;
    }
    const next = nextRecordAfter(buffer, offset);
    if (next === -1) {
      if (found.kind === 'torn') return { updates, tornBytes: buffer.length - offset, damagedBytes };
      return { updates, tornBytes: 0, damagedBytes: damagedBytes + buffer.length - offset };
    }
    damagedBytes += next - offset;
    offset = next;
  }
  return { updates, tornBytes: 0, damagedBytes };
}

/** The offset of the next intact record after `offset`, or -1. Scans only on damage, never on the happy path. */
function nextRecordAfter(buffer: Buffer, offset: number): number {
  for (let at = buffer.indexOf(MAGIC_BYTES, offset + 1); at !== -1; at = buffer.indexOf(MAGIC_BYTES, at + 1)) {
    if (probe(buffer, at).kind === 'record') return at;
  }
  return -1;
}

/** A snapshot file: exactly one intact record, or null when its bytes are damaged or incomplete. */
export function decodeSingleRecord(data: Uint8Array): Uint8Array | null {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const found = probe(buffer, 0);
  if (found.kind !== 'record' || found.end !== buffer.length) return null;
  return buffer.subarray(HEADER_BYTES, found.end - TRAILER_BYTES);
}

/**
 * Journals written before the current framing (`journal-<generation>.log`): `u32 length,
 * u32 crc32(payload), payload` per update. They carry no magic, so there is no resynchronising:
 * everything after the first record that fails is counted as damage (or as a torn tail, when
 * that record runs past the end of the file).
 */
const LEGACY_HEADER_BYTES = 8;

export function decodeLegacyRecords(data: Uint8Array): DecodedRecords {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const updates: Uint8Array[] = [];
  let offset = 0;
  while (offset + LEGACY_HEADER_BYTES <= buffer.length) {
    const end = offset + LEGACY_HEADER_BYTES + buffer.readUInt32LE(offset);
    if (end > buffer.length) break;
    const payload = buffer.subarray(offset + LEGACY_HEADER_BYTES, end);
    if (crc32(payload) !== buffer.readUInt32LE(offset + 4)) {
      return { updates, tornBytes: 0, damagedBytes: buffer.length - offset };
    }
    updates.push(payload);
    offset = end;
  }
  return { updates, tornBytes: buffer.length - offset, damagedBytes: 0 };
}
