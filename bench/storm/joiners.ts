/**
 * The join storm's load generator: a seeding client grows one room's document to a long text
 * (`--chunks` inserts of `--chunk-bytes`, each its own update, as a text pasted in over time), then
 * `--joiners` clients connect within `--spread` and each asks for the whole document (a sync step 1
 * with an empty state vector, as a fresh stock provider does). A joiner is synced when the server's
 * sync step 2 has arrived in full. Joiners are raw TCP sockets that count frame bytes without
 * copying or decoding them, so the generator's own cost stays far below the server's.
 *
 *   node --import tsx bench/storm/joiners.ts --url ws://127.0.0.1:PORT/collab --room storm --json out.json
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { syncStep1Frame, syncUpdateFrame } from '../../lib/core/protocol/frames.js';

export interface StormResult {
  documentBytes: number;
  joiners: number;
  synced: number;
  failed: number;
  /** ms from the first joiner's connect to each joiner's complete sync reply, sorted */
  syncedAtMs: number[];
  /** ms from the first connect to the last joiner synced (Infinity if any failed) */
  allSyncedMs: number;
  seedMs: number;
}

/** A masked client frame (RFC 6455 §5.3) with a zero key: masking is required, its secrecy is not. */
function clientFrame(message: Uint8Array): Buffer {
  const length = message.byteLength;
  const header = length < 126 ? Buffer.from([0x82, 0x80 | length]) : Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, Buffer.alloc(4), message]);
}

/** Seeds the room and keeps the seeder connected (a room with one editor in it), resolving once the server applied everything. */
async function seed(url: string, chunks: number, chunkBytes: number): Promise<{ socket: WebSocket; documentBytes: number }> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const doc = new Y.Doc();
  const text = doc.getText('t');
  const chunk = 's'.repeat(chunkBytes);
  doc.on('update', (update: Uint8Array) => socket.send(syncUpdateFrame(update)));
  for (let i = 0; i < chunks; i++) {
    text.insert(text.length, chunk);
    // Let the socket drain now and then: the server reads a steady stream, not one 20 MB burst.
    if (i % 100 === 99) {
      while (socket.bufferedAmount > 1_000_000 && socket.readyState === WebSocket.OPEN) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (socket.readyState !== WebSocket.OPEN) throw new Error(`the server closed the seeding connection after ${i + 1} of ${chunks} inserts`);
  }
  // Messages are handled in order: the answer to this sync step 1 comes after every update was applied.
  const answered = new Promise<void>((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      if (data[0] === 0 && data[1] === 1) resolve();
    });
    socket.once('close', (code) => reject(new Error(`the server closed the seeding connection (code ${code}) before applying the document`)));
  });
  socket.send(syncStep1Frame(Y.encodeStateVector(doc)));
  await answered;
  const documentBytes = Y.encodeStateAsUpdate(doc).byteLength;
  doc.destroy();
  return { socket, documentBytes };
}

/** One joiner: resolves with the ms (from `startedAt`) at which its sync step 2 frame was complete, or rejects. */
function join(url: URL, startedAt: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const timer = setTimeout(() => fail(new Error('timed out')), timeoutMs);
    let handshakeDone = false;
    let pending: Buffer = Buffer.alloc(0);
    /** Bytes of the current frame's payload still to come, and whether it is the sync step 2. */
    let remaining = 0;
    let isStepTwo = false;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('closed before synced')));
    socket.on('connect', () => {
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (data: Buffer) => {
      let chunk = data;
      if (!handshakeDone) {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!pending.subarray(0, 12).toString().includes('101')) return fail(new Error(`upgrade refused: ${pending.subarray(0, 40).toString()}`));
        handshakeDone = true;
        socket.write(clientFrame(syncStep1Frame(new Uint8Array([0]))));
        chunk = pending.subarray(end + 4);
        pending = Buffer.alloc(0);
      }
      while (chunk.byteLength > 0) {
        if (remaining > 0) {
          const taken = Math.min(remaining, chunk.byteLength);
          remaining -= taken;
          chunk = chunk.subarray(taken);
          if (remaining === 0 && isStepTwo) {
            clearTimeout(timer);
            socket.removeAllListeners('close');
            socket.destroy();
            return resolve(performance.now() - startedAt);
          }
          continue;
        }
        // A frame header (and the first two payload bytes, which say what the message is) must be whole.
        pending = pending.byteLength ? Buffer.concat([pending, chunk]) : chunk;
        const lengthCode = pending.byteLength >= 2 ? pending[1] & 0x7f : 0;
        const headerBytes = lengthCode === 127 ? 10 : lengthCode === 126 ? 4 : 2;
        if (pending.byteLength < headerBytes + 2) return;
        const payloadBytes = lengthCode === 127 ? Number(pending.readBigUInt64BE(2)) : lengthCode === 126 ? pending.readUInt16BE(2) : lengthCode;
        isStepTwo = pending[headerBytes] === 0 && pending[headerBytes + 1] === 1;
        remaining = payloadBytes;
        chunk = pending.subarray(headerBytes);
        pending = Buffer.alloc(0);
      }
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      room: { type: 'string', default: 'storm' },
      joiners: { type: 'string', default: '150' },
      spread: { type: 'string', default: '1000' },
      chunks: { type: 'string', default: '2000' },
      'chunk-bytes': { type: 'string', default: '10240' },
      timeout: { type: 'string', default: '60000' },
      json: { type: 'string' },
    },
  });
  const roomUrl = `${values.url}/${values.room}`;
  const joiners = Number(values.joiners);
  const spreadMs = Number(values.spread);
  const seedStarted = performance.now();
  const seeder = await seed(roomUrl, Number(values.chunks), Number(values['chunk-bytes']));
  const seedMs = performance.now() - seedStarted;
  // Tell the harness the storm begins (it marks the RSS samples from here on).
  console.log(JSON.stringify({ event: 'storm', documentBytes: seeder.documentBytes, at: Date.now() }));
  const startedAt = performance.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: joiners }, (_, index) =>
      new Promise<number>((resolve) => setTimeout(resolve, (index * spreadMs) / joiners)).then(() => join(new URL(roomUrl), startedAt, Number(values.timeout))),
    ),
  );
  seeder.socket.terminate();
  const syncedAtMs = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])).sort((a, b) => a - b);
  const failed = outcomes.length - syncedAtMs.length;
  const result: StormResult = {
    documentBytes: seeder.documentBytes,
    joiners,
    synced: syncedAtMs.length,
    failed,
    syncedAtMs,
    allSyncedMs: failed > 0 ? Infinity : syncedAtMs[syncedAtMs.length - 1],
    seedMs,
  };
  if (values.json) writeFileSync(values.json, JSON.stringify(result));
  console.log(JSON.stringify({ event: 'done', synced: result.synced, failed, allSyncedMs: result.allSyncedMs }));
}

await main();
