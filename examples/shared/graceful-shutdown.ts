import type { Server } from 'node:http';
import type { Logger, Symphony } from '../../lib/index.js';

/**
 * On SIGTERM (a deploy, a scale-in) or SIGINT (Ctrl-C): let Symphony checkpoint every room and
 * close its sockets with 1012 so clients reconnect elsewhere, close what else the app opened
 * (the dashboard flushes its last sessions), then stop the HTTP server. The exit code is 1 when
 * some room's changes could not be stored (a full disk, say): they are named in the log.
 *
 * Handlers stay registered (`on`, not `once`): a launcher such as `npm start` may forward a second
 * signal, which must not kill the process in the middle of its shutdown.
 */
export function closeOnSignals(server: Server, symphony: Symphony, logger: Logger, also: { close(): Promise<void> }[] = []): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      const { unstoredRooms } = await symphony.close();
      await Promise.all(also.map((closable) => closable.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (unstoredRooms.length > 0) {
        // A supervisor must see that this stop lost data, not a clean exit.
        logger.error({ rooms: unstoredRooms }, 'stopped with changes that could not be stored');
        process.exit(1);
      }
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
