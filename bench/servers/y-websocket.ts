/**
 * Benchmark peer: the y-websocket reference server (@y/websocket-server 0.1.1), as its own
 * `server.js` runs it (ws server, `setupWSConnection` per socket), plus /healthz for the harness.
 * Run: PORT=1234 node --import tsx bench/servers/y-websocket.ts
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { setupWSConnection } from '@y/websocket-server/utils';

const port = Number(process.env.PORT ?? 1234);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok' : 'okay');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
wss.on('connection', setupWSConnection);
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ server: 'y-websocket', event: 'listening', port }));
});
