import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import type { SyncReplyFrame } from '../protocol/frames.js';
import type { AuthResult, ConnectionInfo, UpdateOrigin } from '../types.js';
import type { HandshakeTicket } from './handshake-guard.js';

/** What a connection needs of its room: where its messages go, and whom to tell when it closes. */
export interface ConnectionRoom {
  readonly name: string;
  receive(connection: Connection, message: Uint8Array): void;
  removeConnection(connection: Connection): void;
}

/** How long a closed connection may take to finish the close handshake before it is dropped. */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/**
 * One client's WebSocket in one room: identity, counters and a send that refuses to buffer
 * without bound. Thousands may sit idle at once, so what only some connections use (an update
 * origin, a `Date`) is made when first asked for.
 */
export class Connection implements ConnectionInfo {
  /** A flat string: `randomUUID()` returns a chain of ten concatenations, which an idle connection would hold for ever. */
  readonly id = Buffer.from(randomUUID(), 'latin1').toString('latin1');
  readonly userId: string;
  readonly readOnly: boolean;
  readonly room: string;
  private readonly connectedAtMs = Date.now();
  readonly remoteAddress: string | undefined;
  private updateOrigin: UpdateOrigin | null = null;
  messagesIn = 0;
  messagesOut = 0;
  droppedUpdates = 0;
  /** Cleared by each heartbeat ping, set by the pong that answers it. */
  alive = true;
  closed = false;

  constructor(
    readonly socket: WebSocket,
    /** The TCP socket under `socket`, for writing frames that were encoded once for many receivers. */
    private readonly transport: Duplex,
    /** The room the connection joined; it receives the connection's messages and its close. */
    readonly joined: ConnectionRoom,
    readonly auth: Readonly<AuthResult>,
    /** The handshake guard's hold on the client's address, released when the socket closes. */
    readonly ticket: HandshakeTicket,
    private readonly maxBufferedBytes: number,
    /** The client's address, which may come from a trusted proxy's `X-Forwarded-For` (see `trustProxy`). */
    remoteAddress: string | undefined,
  ) {
    this.userId = auth.userId;
    this.readOnly = auth.readOnly === true;
    this.room = joined.name;
    this.remoteAddress = remoteAddress;
  }

  get connectedAt(): Date {
    return new Date(this.connectedAtMs);
  }

  /** The Yjs transaction origin of this connection's updates: made by its first update, then compared by identity. */
  get origin(): UpdateOrigin {
    this.updateOrigin ??= Object.freeze({ kind: 'client', connectionId: this.id, userId: this.userId });
    return this.updateOrigin;
  }

  send(message: Uint8Array): void {
    if (!this.mayWrite()) return;
    this.socket.send(message);
    this.messagesOut++;
  }

  /** The code the server closed this connection with, if the server closed it. */
  closeCode: number | null = null;

  /**
   * Writes complete WebSocket frames (see `websocketFrame`), shared by every receiver of a
   * broadcast: `messages` frames joined into one buffer go out in one write.
   */
  sendFrame(frame: Buffer, messages = 1): void {
    if (!this.mayWrite()) return;
    this.transport.write(frame);
    this.messagesOut += messages;
  }

  /**
   * Bytes of the sync reply still being written, which `maxBufferedBytes` does not count: a joiner
   * receiving a 20 MB document is not a slow reader, and closing it as one whenever the room sends
   * it anything else would make big documents impossible to join. One reply at a time is exempt (a
   * client asking again before the last one left counts in full), so a connection holds at most
   * `maxBufferedBytes` plus one reply, and a full-state reply is one Buffer shared by all joiners.
   */
  private syncReplyBytesInFlight = 0;

  /** Writes the WebSocket frame answering the client's sync step 1 (see `syncReplyBytesInFlight`). */
  sendSyncReply(frame: SyncReplyFrame): void {
    if (!this.mayWrite()) return;
    this.transport.cork();
    this.transport.write(frame.headers);
    if (this.syncReplyBytesInFlight > 0) {
      this.transport.write(frame.update);
    } else {
      this.syncReplyBytesInFlight = frame.byteLength;
      // Called once the frame has left the process (or the socket died): from then on it is the kernel's.
      this.transport.write(frame.update, () => {
        this.syncReplyBytesInFlight = 0;
      });
    }
    this.transport.uncork();
    this.messagesOut++;
  }

  /** False once closed or closing; closes a client that lets more than `maxBufferedBytes` pile up. */
  private mayWrite(): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount - this.syncReplyBytesInFlight > this.maxBufferedBytes) {
      this.close(CloseCode.tryAgainLater, CloseReason.tryAgainLater);
      return false;
    }
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    this.socket.close(code, reason);
    // A client that stopped reading never answers the close handshake: do not wait ws's 30 s for it.
    setTimeout(() => this.socket.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
  }

  /** A plain snapshot for hooks, events and the dashboard (no socket attached). */
  info(): ConnectionInfo {
    return {
      id: this.id,
      room: this.room,
      userId: this.userId,
      readOnly: this.readOnly,
      auth: this.auth,
      connectedAt: this.connectedAt,
      remoteAddress: this.remoteAddress,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      droppedUpdates: this.droppedUpdates,
    };
  }
}
