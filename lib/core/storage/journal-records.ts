import { crc32 } from 'node:zlib';

/**
 * The on-disk framing of a room's journal: `u32 length, u32 crc32, payload` per update, little
 * endian. A process killed mid-write leaves a torn last record; the checksum tells it apart from a
 * complete one, and everything before it is kept.
 */
const HEADER_BYTES = 8;

export function encodeRecords(updates: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const update of updates) total += HEADER_BYTES + update.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const update of updates) {
    out.writeUInt32LE(update.length, offset);
    out.writeUInt32LE(crc32(update), offset + 4);
    out.set(update, offset + HEADER_BYTES);
    offset += HEADER_BYTES + update.length;
  }
  return out;
}

export interface DecodedRecords {
  readonly updates: Uint8Array[];
  /** Bytes after the last complete record (a torn write), ignored. */
  readonly tornBytes: number;
}

export function decodeRecords(data: Uint8Array): DecodedRecords {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const updates: Uint8Array[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= buffer.length) {
    const length = buffer.readUInt32LE(offset);
    const checksum = buffer.readUInt32LE(offset + 4);
    const end = offset + HEADER_BYTES + length;
    if (end > buffer.length) break;
    const payload = buffer.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== checksum) break;
    updates.push(payload);
    offset = end;
  }
  return { updates, tornBytes: buffer.length - offset };
}
