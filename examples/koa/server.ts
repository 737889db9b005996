import Koa from 'koa';
import { attachSymphony, createJsonLogger, FileStore } from '../../lib/index.js';
import { healthMiddleware } from '../../integrations/koa.js';
import { dataDirectory, host, port } from '../shared/environment.js';
import { closeOnSignals } from '../shared/graceful-shutdown.js';

// An existing Koa app with its own routes...
const app = new Koa();
const logger = createJsonLogger();
const server = app.listen(port, host, () => {
  const address = server.address();
  const listeningPort = typeof address === 'object' && address ? address.port : port;
  logger.info({ port: listeningPort, host, url: `http://localhost:${listeningPort}`, collab: `ws://localhost:${listeningPort}${symphony.path}/<room>` }, 'listening');
});

// ...becomes collaborative: Symphony handles WebSocket upgrades under /collab on the same server.
const symphony = attachSymphony(server, { logger, store: new FileStore({ directory: dataDirectory, logger }) });
app.use(healthMiddleware(symphony));
app.use(async (context, next) => {
  if (context.method === 'GET' && context.path === '/api/hello') {
    context.body = { message: 'Hello from the host app' };
    return;
  }
  await next();
});
closeOnSignals(server, symphony, logger);
