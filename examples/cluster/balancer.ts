import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A small local load balancer, standing in for an ALB in front of cluster nodes: plain HTTP and
 * WebSocket upgrades (raw TCP piping after the upgrade request), least connections, and health
 * checks on `/healthz`, so a draining node (503) or a dead one gets no new users.
 */
export interface BalancerOptions {
  /** Backend base URLs, e.g. `http://127.0.0.1:3001`. */
  backends: string[];
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** How often each backend's `/healthz` is polled, in milliseconds. @default 1_000 */
  healthIntervalMs?: number;
  /** Called when a backend becomes healthy or unhealthy. */
  onHealthChange?: (backend: string, healthy: boolean) => void;
}

interface Backend {
  readonly url: URL;
  healthy: boolean;
  /** Open WebSocket connections routed to it. */
  sockets: number;
}

export interface Balancer {
  readonly server: Server;
  readonly port: number;
  /** Backends and their state, for logs and tests. */
  status(): { url: string; healthy: boolean; sockets: number }[];
  close(): Promise<void>;
}

export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const backends: Backend[] = options.backends.map((url) => ({ url: new URL(url), healthy: false, sockets: 0 }));
  let turn = 0;
  const openSockets = new Set<Duplex>();

  /** The healthy backend with the fewest connections (round robin among equals), skipping `tried`. */
  const pick = (tried: Set<Backend>): Backend | null => {
    const candidates = backends.filter((backend) => backend.healthy && !tried.has(backend));
    if (candidates.length === 0) return null;
    const fewest = Math.min(...candidates.map((backend) => backend.sockets));
    const tied = candidates.filter((backend) => backend.sockets === fewest);
    return tied[turn++ % tied.length];
  };

  const setHealth = (backend: Backend, healthy: boolean) => {
    if (backend.healthy === healthy) return;
    backend.healthy = healthy;
    options.onHealthChange?.(backend.url.origin, healthy);
  };
  const checkHealth = async (backend: Backend) => {
    try {
      const response = await fetch(new URL('/healthz', backend.url), { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      setHealth(backend, response.status === 200);
    } catch {
      setHealth(backend, false);
    }
  };
  await Promise.all(backends.map(checkHealth));
  const healthTimer = setInterval(() => void Promise.all(backends.map(checkHealth)), options.healthIntervalMs ?? 1_000);

  const server = createServer((request, response) => {
    const forward = (tried: Set<Backend>) => {
      const backend = pick(tried);
      if (!backend) {
        response.writeHead(502, { 'content-type': 'text/plain' });
        response.end('no healthy backend');
        return;
      }
      tried.add(backend);
      const upstream = httpRequest(
        { host: backend.url.hostname, port: backend.url.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => {
        setHealth(backend, false);
        // Nothing was sent back yet: try another backend (only safe for requests without a body).
        if (!response.headersSent && (request.method === 'GET' || request.method === 'HEAD')) forward(tried);
        else response.destroy();
      });
      request.pipe(upstream);
    };
    forward(new Set());
  });

  server.on('upgrade', (request: IncomingMessage, client: Duplex, head: Buffer) => {
    openSockets.add(client);
    client.on('error', () => undefined);
    client.once('close', () => openSockets.delete(client));
    const tried = new Set<Backend>();
    const attempt = () => {
      const backend = pick(tried);
      if (!backend) {
        client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      tried.add(backend);
      // Counted from the moment it is chosen, so a burst of connections spreads out.
      backend.sockets++;
      let connected = false;
      const upstream: Socket = connect(Number(backend.url.port), backend.url.hostname, () => {
        connected = true;
        upstream.write(requestHead(request));
        if (head.byteLength > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.once('close', () => {
        backend.sockets--;
        client.destroy();
      });
      upstream.on('error', () => {
        if (connected) return;
        setHealth(backend, false);
        backend.sockets--;
        upstream.removeAllListeners('close');
        if (!client.destroyed) attempt();
      });
      client.once('close', () => upstream.destroy());
    };
    attempt();
  });

  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    status: () => backends.map((backend) => ({ url: backend.url.origin, healthy: backend.healthy, sockets: backend.sockets })),
    async close() {
      clearInterval(healthTimer);
      for (const socket of openSockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The upgrade request as it arrived, to replay to the backend. */
function requestHead(request: IncomingMessage): string {
  let head = `${request.method} ${request.url} HTTP/${request.httpVersion}\r\n`;
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) head += `${request.rawHeaders[index]}: ${request.rawHeaders[index + 1]}\r\n`;
  return `${head}\r\n`;
}
