/** The servers under test: how to start each one, and how clients reach it. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Protocol } from '../../loadtest/engine.js';

export interface ServerDef {
  name: string;
  label: string;
  /** node arguments (run from the repository root) */
  args: string[];
  protocol: Protocol;
  url(port: number): string;
  health(port: number): string;
  available(): boolean;
  /** per-run environment; returns a cleanup function for anything it created */
  env(port: number): { env: NodeJS.ProcessEnv; cleanup: () => void };
}

const plainEnv = (port: number) => ({ env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, cleanup: () => {} });

/** The Express example (what `npm start` runs) in a fresh data directory, with `extraEnv` on top. */
function symphonyServer(name: string, label: string, extraEnv: NodeJS.ProcessEnv): ServerDef {
  return {
    name,
    label,
    args: ['--import', 'tsx', 'examples/express/server.ts'],
    protocol: 'y-websocket',
    url: (port) => `ws://127.0.0.1:${port}/collab`,
    health: (port) => `http://127.0.0.1:${port}/healthz`,
    available: () => existsSync('examples/express/server.ts'),
    env: (port) => {
      const dir = mkdtempSync(join(tmpdir(), 'symphony-bench-'));
      return {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SYMPHONY_DATA_DIR: dir, ...extraEnv },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}

export const SERVERS: Record<string, ServerDef> = {
  symphony: symphonyServer('symphony', 'Symphony', {}),
  'symphony-direct': symphonyServer('symphony-direct', 'Symphony, no coalescing (fanOut.tickMs 0)', { SYMPHONY_FAN_OUT_TICK_MS: '0' }),
  'y-websocket': {
    name: 'y-websocket',
    label: 'y-websocket server 0.1.1',
    args: ['--import', 'tsx', 'bench/servers/y-websocket.ts'],
    protocol: 'y-websocket',
    url: (port) => `ws://127.0.0.1:${port}`,
    health: (port) => `http://127.0.0.1:${port}/healthz`,
    available: () => true,
    env: plainEnv,
  },
  hocuspocus: {
    name: 'hocuspocus',
    label: 'Hocuspocus 3.4',
    args: ['--import', 'tsx', 'bench/servers/hocuspocus.ts'],
    protocol: 'hocuspocus',
    url: (port) => `ws://127.0.0.1:${port}`,
    health: (port) => `http://127.0.0.1:${port}/`,
    available: () => true,
    env: plainEnv,
  },
  relay: {
    name: 'relay',
    label: 'naive ws relay (fixture)',
    args: ['--import', 'tsx', 'bench/servers/relay.ts'],
    protocol: 'y-websocket',
    url: (port) => `ws://127.0.0.1:${port}`,
    health: (port) => `http://127.0.0.1:${port}/healthz`,
    available: () => true,
    env: plainEnv,
  },
};
