/**
 * BENCHMARK FIXTURE, NOT A COLLABORATION SERVER.
 *
 * A naive byte relay over `ws`: every message received on a socket is forwarded, unchanged and
 * undecoded, to every other socket connected to the same URL path (the "room"). It keeps no
 * document, so it cannot answer a sync handshake by itself; to let y-websocket clients complete
 * theirs, it answers every sync step 1 with an empty sync step 2 (and forwards it too). This is the
 * floor a server that "does nothing" would cost, used as a reference point in bench/run.ts.
 * Run: PORT=1234 node --import tsx bench/servers/relay.ts
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';

const port = Number(process.env.PORT ?? 1234);
const rooms = new Map<string, Set<WebSocket>>();
// [messageSync, messageYjsSyncStep2, varUint8Array(empty update [0, 0])]
const EMPTY_STEP2 = Buffer.from([0, 1, 2, 0, 0]);

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const name = req.url ?? '/';
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  const peers = room;
  ws.on('message', (data: RawData, isBinary) => {
    const buf = data as Buffer;
    if (buf[0] === 0 && buf[1] === 0) ws.send(EMPTY_STEP2); // sync step 1 -> empty step 2
    for (const other of peers) if (other !== ws) other.send(buf, { binary: isBinary });
  });
  ws.on('close', () => {
    peers.delete(ws);
    if (peers.size === 0) rooms.delete(name);
  });
  ws.on('error', () => ws.terminate());
});
server.listen(port, '127.0.0.1', () => {
  // The bound port: with PORT=0 the system picks a free one, which callers read from this line.
  console.log(JSON.stringify({ server: 'relay', event: 'listening', port: (server.address() as AddressInfo).port }));
});
