import type { Server } from 'node:http';
import type { Logger, Symphony } from '../../lib/index.js';

/**
 * On SIGTERM (a deploy, a scale-in) or SIGINT (Ctrl-C): let Symphony checkpoint every room and
 * close its sockets with 1012 so clients reconnect elsewhere, then stop the HTTP server.
 */
export function closeOnSignals(server: Server, symphony: Symphony, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await symphony.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info({}, 'stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
