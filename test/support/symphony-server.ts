import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachSymphony, MemoryStore, silentLogger, type ShutdownReport, type Symphony, type SymphonyOptions } from '../../lib/index.js';

export interface RunningSymphony {
  readonly server: Server;
  readonly symphony: Symphony;
  readonly port: number;
  /** `ws://127.0.0.1:<port>/collab` — what a y-websocket provider takes as its server URL. */
  readonly url: string;
  /** Closes Symphony, then the HTTP server; resolves to Symphony's shutdown report. */
  close(): Promise<ShutdownReport>;
}

/** A Symphony on a fresh HTTP server on 127.0.0.1, an ephemeral port and (unless given) a MemoryStore. */
export async function startSymphony(options: SymphonyOptions = {}, server: Server = createServer()): Promise<RunningSymphony> {
  const symphony = attachSymphony(server, { store: new MemoryStore(), logger: silentLogger, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    symphony,
    port,
    url: `ws://127.0.0.1:${port}${symphony.path}`,
    async close() {
      const report = await symphony.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return report;
    },
  };
}
