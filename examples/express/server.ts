import { createServer } from 'node:http';
import express from 'express';
import { attachSymphony, createJsonLogger, FileStore } from '../../lib/index.js';
import { healthHandler } from '../../integrations/express.js';
import { dataDirectory, host, port } from '../shared/environment.js';
import { closeOnSignals } from '../shared/graceful-shutdown.js';

// An existing Express app with its own routes...
const app = express();
app.get('/api/hello', (_request, response) => {
  response.json({ message: 'Hello from the host app' });
});

// ...becomes collaborative: Symphony handles WebSocket upgrades under /collab on the same server.
const logger = createJsonLogger();
const server = createServer(app);
const symphony = attachSymphony(server, { logger, store: new FileStore({ directory: dataDirectory, logger }) });
app.get('/healthz', healthHandler(symphony));

server.listen(port, host, () => {
  const address = server.address();
  const listeningPort = typeof address === 'object' && address ? address.port : port;
  logger.info({ port: listeningPort, host, url: `http://localhost:${listeningPort}`, collab: `ws://localhost:${listeningPort}${symphony.path}/<room>` }, 'listening');
});
closeOnSignals(server, symphony, logger);
