/**
 * Symphony for the join storm: the defaults of `npm start` (a FileStore in $SYMPHONY_DATA_DIR,
 * /healthz) with room for the storm's document. Its 20 MB of ASCII text count 40 MB against
 * `maxDocumentContentBytes` (strings are counted as UTF-16), over the 32 MiB default.
 * Run: PORT=1234 SYMPHONY_DATA_DIR=/tmp/x node --import tsx bench/servers/symphony-large-documents.ts
 */
import { createServer } from 'node:http';
import { attachSymphony, createJsonLogger, FileStore } from '../../lib/index.js';

const port = Number(process.env.PORT ?? 1234);
const logger = createJsonLogger();
const server = createServer((request, response) => {
  response.writeHead(request.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  response.end(request.url === '/healthz' ? 'ok' : 'not found');
});
const symphony = attachSymphony(server, {
  store: new FileStore({ directory: process.env.SYMPHONY_DATA_DIR ?? './.symphony-data', logger }),
  logger,
  limits: { maxDocumentContentBytes: 64 * 1024 * 1024 },
});
server.listen(port, '127.0.0.1', () => logger.info({ port, path: symphony.path }, 'listening'));
process.once('SIGTERM', () => void symphony.close().then(() => server.close()));
