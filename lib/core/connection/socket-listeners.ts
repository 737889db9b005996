import type { RawData, WebSocket } from 'ws';
import type { Connection } from './connection.js';

/** What the server does with a socket's events. */
export interface SocketEvents {
  message(connection: Connection, data: Buffer): void;
  pong(connection: Connection): void;
  error(connection: Connection, error: Error): void;
  closed(connection: Connection, code: number, reason: Buffer): void;
}

const connectionOfSocket = Symbol('symphony.connection');
type ListenedSocket = WebSocket & { [connectionOfSocket]?: Connection };

const connectionOf = (socket: ListenedSocket): Connection => socket[connectionOfSocket]!;

/**
 * One set of listener functions for every socket, each finding its connection on the socket it is
 * called on (`this`). Four closures per socket, with their context, cost an idle connection about
 * half a kilobyte; these cost it one property.
 */
export class SocketListeners {
  private readonly onMessage: (this: ListenedSocket, data: RawData) => void;
  private readonly onPong: (this: ListenedSocket) => void;
  private readonly onError: (this: ListenedSocket, error: Error) => void;
  private readonly onClose: (this: ListenedSocket, code: number, reason: Buffer) => void;

  constructor(events: SocketEvents) {
    this.onMessage = function (data) {
      events.message(connectionOf(this), data as Buffer);
    };
    this.onPong = function () {
      events.pong(connectionOf(this));
    };
    this.onError = function (error) {
      events.error(connectionOf(this), error);
    };
    this.onClose = function (code, reason) {
      events.closed(connectionOf(this), code, reason);
    };
  }

  /** Routes `socket`'s events to `connection`. ws emits `close` once, so `on` serves (`once` would allocate a wrapper). */
  listen(socket: WebSocket, connection: Connection): void {
    (socket as ListenedSocket)[connectionOfSocket] = connection;
    socket.on('message', this.onMessage);
    socket.on('pong', this.onPong);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }
}
