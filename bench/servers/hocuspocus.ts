/**
 * Benchmark peer: Hocuspocus 3 (@hocuspocus/server 3.4), default configuration, no extensions.
 * Clients speak Hocuspocus' protocol (document name before every message, auth message first).
 * Run: PORT=1234 node --import tsx bench/servers/hocuspocus.ts
 */
import { Server } from '@hocuspocus/server';

const port = Number(process.env.PORT ?? 1234);
const server = new Server({ port, address: '127.0.0.1', quiet: true }, { perMessageDeflate: false });
await server.listen();
console.log(JSON.stringify({ server: 'hocuspocus', event: 'listening', port }));
