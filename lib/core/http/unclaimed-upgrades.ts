import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { rejectUpgrade } from './reject-upgrade.js';

/** What a socket looked like before any `upgrade` listener ran: a listener that takes it changes one of these. */
interface SocketMark {
  readonly listeners: number;
  readonly bytesWritten: number;
  readonly flowing: boolean | null;
}

/**
 * Answers 404 to upgrade requests no `upgrade` listener took. Node hands an upgrade's socket to
 * the listeners and forgets it: when none of them takes it, nobody answers or closes it, and a
 * client that never gives up holds it for ever. A listener that takes a socket writes to it,
 * closes it, reads it or listens to it (ws, http-proxy and socket.io all add an `error` listener
 * at once), so a socket that looks as it did before the first listener ran, once every listener
 * and its microtasks have run, was left over. A socket that was written to or read before the
 * mark (a listener prepended ahead of it) is never touched.
 */
export class UnclaimedUpgrades {
  private readonly marks = new WeakMap<Duplex, SocketMark>();

  constructor(private readonly server: Server) {
    // First in line, so that the mark is taken before any listener touched the socket.
    server.prependListener('upgrade', this.mark);
  }

  /** Refuses `socket` with 404 unless a listener takes it before the next turn of the event loop. */
  watch(socket: Duplex): void {
    setImmediate(() => {
      const mark = this.marks.get(socket);
      if (mark === undefined || mark.bytesWritten > 0 || mark.flowing !== null || socket.destroyed || socket.writableEnded) return;
      if (listenerCount(socket) !== mark.listeners || bytesWritten(socket) !== 0 || socket.readableFlowing !== null) return;
      rejectUpgrade(socket, 404, 'not found');
    });
  }

  close(): void {
    this.server.off('upgrade', this.mark);
  }

  private readonly mark = (_request: IncomingMessage, socket: Duplex): void => {
    // Node drops its own error listener when it hands the socket over: a reset before anyone took
    // it would be an uncaught exception.
    socket.on('error', ignoreError);
    this.marks.set(socket, { listeners: listenerCount(socket), bytesWritten: bytesWritten(socket), flowing: socket.readableFlowing });
  };
}

function ignoreError(): void {}

function listenerCount(socket: Duplex): number {
  let count = 0;
  for (const name of socket.eventNames()) count += socket.listenerCount(name);
  return count;
}

function bytesWritten(socket: Duplex): number {
  return (socket as Duplex & { bytesWritten?: number }).bytesWritten ?? 0;
}
