import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, silentLogger } from '../../lib/index.js';
import { ClientPool } from './clients.js';
import { startSymphony, type RunningSymphony } from './symphony-server.js';

/**
 * For a `describe` block: each test gets a fresh data directory, and `start` a Symphony on a
 * FileStore there that checkpoints and unloads quickly. Servers, clients and the directory are
 * closed and removed after each test.
 */
export function fileStoreServers(directoryPrefix: string) {
  let directory = '';
  let server: RunningSymphony | null = null;
  const clients = new ClientPool();

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), directoryPrefix));
  });

  afterEach(async () => {
    clients.destroyAll();
    await server?.close();
    server = null;
    await rm(directory, { recursive: true, force: true });
  });

  return {
    clients,
    /** The current test's data directory. */
    directory: () => directory,
    async start(options: Parameters<typeof startSymphony>[0] = {}): Promise<RunningSymphony> {
      server = await startSymphony({ store: new FileStore({ directory, logger: silentLogger }), checkpointIntervalMs: 50, unloadGraceMs: 20, ...options });
      return server;
    },
  };
}
