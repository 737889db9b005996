import 'fake-indexeddb/auto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createClient, type ClientOptions, type Room, type RoomStatus, type SymphonyClient } from '../../client/index.js';
import { attachSymphony, MemoryStore, silentLogger, type Symphony, type SymphonyOptions } from '../../lib/index.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A real Symphony on 127.0.0.1 that can be stopped and started again on the same port with the
 * same store, which is how a client experiences an outage (or losing its network) and recovery.
 */
export class RestartableServer {
  readonly store = new MemoryStore();
  port = 0;
  private running: { server: Server; symphony: Symphony } | null = null;

  constructor(private readonly options: SymphonyOptions = {}) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/collab`;
  }

  get symphony(): Symphony {
    if (!this.running) throw new Error('the server is stopped');
    return this.running.symphony;
  }

  async start(): Promise<this> {
    const server = createServer();
    const symphony = attachSymphony(server, { store: this.store, logger: silentLogger, ...this.options });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.running = { server, symphony };
    return this;
  }

  /** Graceful shutdown: clients are closed with 1012 and find nothing listening until `start()`. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const { server, symphony } = this.running;
    this.running = null;
    await symphony.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Clients as a Node app (or a test) uses them: `ws` as WebSocket, no BroadcastChannel, fast retries. */
export class ClientPool {
  private readonly clients: SymphonyClient[] = [];

  open(url: string, options: Partial<ClientOptions> = {}): SymphonyClient {
    const client = createClient({
      url,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      // Each client here stands for a separate browser: tabs of one process must not sync directly.
      crossTab: false,
      offline: false,
      maxBackoffMs: 200,
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  async destroyAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.destroy()));
  }
}

/** Waits until `room.status` is `status`. */
export function waitForStatus<P extends object>(room: Room<P>, status: RoomStatus, timeoutMs = 5_000): Promise<void> {
  return waitFor(() => room.status === status, `room "${room.name}" ${status} (is ${room.status})`, timeoutMs);
}

/** Records every status a room goes through. */
export function recordStatuses<P extends object>(room: Room<P>): RoomStatus[] {
  const statuses: RoomStatus[] = [room.status];
  room.on('status', (status) => statuses.push(status));
  return statuses;
}

let roomCounter = 0;

/** A room name no other test uses (rooms and offline copies are never shared by accident). */
export function uniqueRoom(label: string): string {
  return `${label}-${process.pid}-${++roomCounter}`;
}
