import Koa from 'koa';
import { createJsonLogger } from '../../lib/index.js';
import { createKoaServer, dashboardRouter, healthMiddleware } from '../../integrations/koa.js';
import { attachCollaboration } from '../shared/collaboration.js';
import { host, port } from '../shared/environment.js';
import { closeOnSignals } from '../shared/graceful-shutdown.js';
import { serveStatic } from '../shared/whiteboard/koa-static.js';
import { whiteboardPublicDirectory } from '../shared/whiteboard/paths.js';

// An existing Koa app with its own routes...
const app = new Koa();
app.use(async (context, next) => {
  if (context.method === 'GET' && context.path === '/api/hello') {
    context.body = { message: 'Hello from the host app' };
    return;
  }
  await next();
});

// ...becomes collaborative: Symphony handles WebSocket upgrades under /collab on the same server.
// createKoaServer, not app.listen(): Koa's own server never reaches middleware added after it,
// such as the health route and the dashboard below.
const logger = createJsonLogger();
const server = createKoaServer(app);
const { symphony, adminToken, metadata } = await attachCollaboration(server, logger);
app.use(healthMiddleware(symphony));
// The developer dashboard at /admin/, Prometheus metrics at /admin/metrics.
const dashboard = dashboardRouter(symphony, { prefix: '/admin', token: adminToken, logger, metadata });
app.use(dashboard);
// The collaborative whiteboard page at /.
app.use(serveStatic(whiteboardPublicDirectory));

server.listen(port, host, () => {
  const address = server.address();
  const listeningPort = typeof address === 'object' && address ? address.port : port;
  logger.info({ port: listeningPort, host, url: `http://localhost:${listeningPort}`, collab: `ws://localhost:${listeningPort}${symphony.path}/<room>` }, 'listening');
});
closeOnSignals(server, symphony, logger, [dashboard]);
