import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { waitFor } from './wait-for.js';

export interface StockClient {
  readonly doc: Y.Doc;
  readonly provider: WebsocketProvider;
  /** Resolves once the provider finished the sync handshake. */
  synced(): Promise<void>;
  destroy(): void;
}

/**
 * A stock `y-websocket` provider, as an app would use it, in Node. BroadcastChannel is off so
 * that clients in one test process sync through the server only.
 */
export function stockClient(url: string, room: string, options: { doc?: Y.Doc; params?: Record<string, string>; connect?: boolean } = {}): StockClient {
  const doc = options.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: options.params ?? {},
    connect: options.connect ?? true,
  });
  return {
    doc,
    provider,
    synced: () => waitFor(() => provider.synced, `client of "${room}" synced`),
    destroy() {
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
    },
  };
}

/** Tracks clients so `after()` can destroy all of them. */
export class ClientPool {
  private readonly clients: StockClient[] = [];

  open(url: string, room: string, options?: Parameters<typeof stockClient>[2]): StockClient {
    const client = stockClient(url, room, options);
    this.clients.push(client);
    return client;
  }

  destroyAll(): void {
    for (const client of this.clients.splice(0)) client.destroy();
  }
}

export interface RawClient {
  readonly socket: WebSocket;
  readonly received: Uint8Array[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** A bare WebSocket speaking bytes, for protocol-level tests. Resolves once open. */
export async function rawClient(url: string): Promise<RawClient> {
  const socket = new WebSocket(url);
  const received: Uint8Array[] = [];
  socket.on('message', (data: Buffer) => received.push(new Uint8Array(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, closed };
}

/** The HTTP status of an upgrade the server refused (the socket never opens). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      socket.terminate();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    socket.on('error', () => undefined);
  });
}
