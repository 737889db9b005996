import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import pg from 'pg';
import { dashboardRouter as expressDashboard, type DashboardRouter, type ExpressDashboardOptions } from '../../integrations/express.js';
import { dashboardRouter as koaDashboard, type DashboardMiddleware, type KoaDashboardOptions } from '../../integrations/koa.js';
import {
  attachSymphony,
  MemoryStore,
  silentLogger,
  type ClusterView,
  type Dashboard,
  type ReplicaMembership,
  type RoomReplicator,
  type Symphony,
  type SymphonyOptions,
} from '../../lib/index.js';

export const TOKEN = 'dashboard-test-token-0123456789';
export const frameworks = ['express', 'koa'] as const;
export type Framework = (typeof frameworks)[number];

export interface DashboardServer {
  readonly framework: Framework;
  readonly server: Server;
  readonly symphony: Symphony;
  readonly dashboard: Dashboard;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** `ws://127.0.0.1:<port>/collab` */
  readonly collabUrl: string;
  close(): Promise<void>;
}

export type TestDashboardOptions = Partial<ExpressDashboardOptions> & Partial<Omit<KoaDashboardOptions, 'authorize'>> & { koaAuthorize?: KoaDashboardOptions['authorize'] };

/**
 * A host app of the given framework with Symphony attached under /collab and the dashboard
 * mounted at /admin, listening on 127.0.0.1 with an ephemeral port. Clients authenticate with
 * `params: { token: 'user:<id>' }` (or `viewer:<id>` for read-only).
 */
export async function startDashboardServer(
  framework: Framework,
  options: { dashboard?: TestDashboardOptions; symphony?: SymphonyOptions; parsers?: express.RequestHandler[] } = {},
): Promise<DashboardServer> {
  const server = createServer();
  const symphony = attachSymphony(server, {
    store: new MemoryStore(),
    logger: silentLogger,
    unloadGraceMs: 50,
    authenticate: ({ token }) => {
      const [kind, id] = (token ?? 'user:anonymous').split(':');
      return { userId: id ?? 'anonymous', readOnly: kind === 'viewer' };
    },
    ...options.symphony,
  });
  const { koaAuthorize, ...dashboardOptions } = options.dashboard ?? {};
  const common = { token: TOKEN, logger: silentLogger, recorder: { flushIntervalMs: 50 }, ...dashboardOptions };
  let router: DashboardRouter | DashboardMiddleware;
  if (framework === 'express') {
    const app = express();
    // Body parsers an app may have mounted before the dashboard.
    for (const parser of options.parsers ?? []) app.use(parser);
    router = expressDashboard(symphony, common as ExpressDashboardOptions);
    app.use('/admin', router);
    server.on('request', app);
  } else {
    const app = new Koa();
    const { authorize: _ignored, ...rest } = common;
    router = koaDashboard(symphony, { ...rest, ...(koaAuthorize ? { authorize: koaAuthorize } : {}) } as KoaDashboardOptions);
    app.use(router);
    server.on('request', app.callback());
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    framework,
    server,
    symphony,
    dashboard: router.dashboard,
    port,
    origin: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    async close() {
      await router.close();
      await symphony.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ReceivedEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: unknown;
}

/** A Server-Sent Events reader over plain HTTP, keeping every event and comment it received. */
export class EventReader {
  readonly events: ReceivedEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  private buffer = '';
  private response: IncomingMessage | null = null;
  private readonly request;
  private readonly waiters = new Set<() => void>();

  constructor(url: string, headers: Record<string, string>) {
    this.request = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      this.response = response;
      this.status = response.statusCode ?? 0;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => this.receive(chunk));
      response.on('error', () => undefined);
      this.notify();
    });
    this.request.on('error', () => undefined);
    this.request.end();
  }

  /** Resolves with the first event (from `fromIndex` on) that matches, or rejects after `timeoutMs`. */
  async next(predicate: (event: ReceivedEvent) => boolean, description: string, timeoutMs = 5_000, fromIndex = 0): Promise<ReceivedEvent> {
    const found = () => this.events.slice(fromIndex).find(predicate);
    await this.until(() => found() !== undefined, description, timeoutMs);
    return found() as ReceivedEvent;
  }

  until(condition: () => boolean, description: string, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${description}; received ${JSON.stringify(this.events.map((event) => event.event))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  lastId(): string | undefined {
    return this.events.filter((event) => event.id !== undefined).at(-1)?.id;
  }

  close(): void {
    this.response?.destroy();
    this.request.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let boundary: number;
    while ((boundary = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      let id: string | undefined;
      let event = 'message';
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data !== undefined) this.events.push({ id, event, data: JSON.parse(data) as unknown });
    }
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * A TCP proxy in front of Postgres that a test can cut (every connection reset, new ones
 * refused), stall (connections accepted, nothing forwarded) and restore: a database outage
 * without touching the machine's database.
 */
export class TcpProxy {
  private mode: 'open' | 'cut' | 'stall' = 'open';
  private readonly sockets = new Set<Socket>();
  private readonly server: TcpServer;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
    server: TcpServer,
  ) {
    this.server = server;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(target, (server.address() as AddressInfo).port, server);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** Resets every open connection and refuses new ones. */
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /** Accepts connections but forwards nothing: a database that stopped answering. */
  stall(): void {
    this.mode = 'stall';
    for (const socket of this.sockets) socket.pause();
  }

  restore(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.mode = 'open';
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (this.mode === 'stall') {
      client.pause();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

export function bearer(token = TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema no other run uses; drop it with `dropSchema` in `after()`. */
export function freshSchemaName(): string {
  return `symphony_test_${randomBytes(4).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pool.end();
  }
}

/**
 * A replicator that answers `describeCluster` with a view the test sets, counting reads, and can
 * fail them as an unreachable registry would. Rooms load as on a single node.
 */
export class ScriptedClusterReplicator implements RoomReplicator {
  reads = 0;
  failure: Error | null = null;

  constructor(public view: ClusterView) {}

  start(): void {}

  async join(): Promise<ReplicaMembership> {
    return { initialState: null, ready() {}, publishUpdate() {}, publishAwareness() {}, beginCheckpoint: () => null, async leave() {} };
  }

  async close(): Promise<void> {}

  async describeCluster(): Promise<ClusterView> {
    this.reads++;
    if (this.failure) throw this.failure;
    return this.view;
  }
}
