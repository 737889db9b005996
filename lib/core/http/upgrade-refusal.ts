import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { CLOSE_HANDSHAKE_TIMEOUT_MS } from '../connection/connection.js';
import { rejectUpgrade } from './reject-upgrade.js';

/** RFC 6455 limits a close reason to 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * How an upgrade is refused: an HTTP answer, or (with `closeCode`) a WebSocket that is opened and
 * closed at once, which a browser's `CloseEvent` can read where it cannot read an HTTP status.
 */
export interface UpgradeRefusal {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Open the socket and close it with this code and `message` as the reason, instead of answering `status`. */
  readonly closeCode?: number;
}

/** Sends a refusal. A close-code refusal needs a valid handshake (see `handshakeHeaderProblem`). */
export function sendRefusal(wss: WebSocketServer, request: IncomingMessage, socket: Duplex, head: Buffer, refusal: UpgradeRefusal): void {
  if (socket.destroyed) return;
  if (refusal.closeCode === undefined) {
    rejectUpgrade(socket, refusal.status, refusal.message, refusal.headers);
    return;
  }
  const { closeCode, message } = refusal;
  wss.handleUpgrade(request, socket, head, (ws) => closeAtOnce(ws, closeCode, message));
}

/** Closes a socket nobody will use, without waiting longer than a moment for the client's close frame. */
export function closeAtOnce(ws: WebSocket, code: number, reason: string): void {
  ws.on('error', () => undefined);
  ws.close(code, truncateUtf8(reason, MAX_CLOSE_REASON_BYTES));
  setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
}

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = '';
  for (const character of text) {
    if (Buffer.byteLength(cut + character) > maxBytes) break;
    cut += character;
  }
  return cut;
}
