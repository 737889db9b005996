import { createServer } from 'node:http';
import express from 'express';
import { createJsonLogger } from '../../lib/index.js';
import { dashboardRouter, healthHandler } from '../../integrations/express.js';
import { attachCollaboration } from '../shared/collaboration.js';
import { host, port } from '../shared/environment.js';
import { closeOnSignals } from '../shared/graceful-shutdown.js';
import { whiteboardPublicDirectory } from '../shared/whiteboard/paths.js';

// An existing Express app with its own routes...
const app = express();
app.get('/api/hello', (_request, response) => {
  response.json({ message: 'Hello from the host app' });
});
// The collaborative whiteboard page at / (`npm start` builds its bundle when missing).
app.use(express.static(whiteboardPublicDirectory));

// ...becomes collaborative: Symphony handles WebSocket upgrades under /collab on the same server.
const logger = createJsonLogger();
const server = createServer(app);
const { symphony, adminToken, metadata } = await attachCollaboration(server, logger);
app.get('/healthz', healthHandler(symphony));
// The developer dashboard at /admin/, Prometheus metrics at /admin/metrics.
const dashboard = dashboardRouter(symphony, { token: adminToken, logger, metadata });
app.use('/admin', dashboard);
// Cluster mode: which node holds and which node writes each room (null on a single node). It names
// every room and node, so it is the dashboard's own `GET /api/cluster`, behind the same token.
app.get('/api/cluster', (request, response, next) => {
  request.url = '/api/cluster';
  dashboard(request, response, next);
});

server.listen(port, host, () => {
  const address = server.address();
  const listeningPort = typeof address === 'object' && address ? address.port : port;
  logger.info({ port: listeningPort, host, url: `http://localhost:${listeningPort}`, collab: `ws://localhost:${listeningPort}${symphony.path}/<room>` }, 'listening');
});
closeOnSignals(server, symphony, logger, [dashboard]);
