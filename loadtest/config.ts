import type { Protocol } from './wire.js';
import { DEFAULT_DOC_MIX, type DocMix } from './yjs-writer.js';

export const VERSION = '0.1.0';

/** One load test, as the CLI flags describe it (see args.ts for each flag's meaning). */
export interface LoadTestConfig {
  /** Base WebSocket URL: y-websocket rooms are appended as `/<room>`. */
  url: string;
  users: number;
  roomSize: number;
  /** Document updates per user per second. */
  docRate: number;
  /** Awareness updates per user per second. */
  presenceRate: number;
  /** The steady phase, after the ramp. */
  durationMs: number;
  /** Users connect evenly over this time. */
  rampMs: number;
  /** After sending stops, how long in-flight messages still count. */
  drainMs: number;
  protocol: Protocol;
  roomPrefix: string;
  /** The token in Hocuspocus' auth message: the server's, not the dashboard's. */
  authToken: string;
  headers: Record<string, string>;
  query: string;
  workers: number;
  seed: number;
  docMix: DocMix;
  /** Number of edits in a document each room's first user uploads on joining (0: none). */
  preloadOps: number;
  connectTimeoutMs: number;
  /** Symphony dashboard base URL: the server's CPU and memory are read from its stats API. */
  dashboard?: string;
  /** The dashboard's API token (its admin token), sent as a bearer token. */
  dashboardToken?: string;
  statsIntervalMs: number;
}

export const DEFAULTS: LoadTestConfig = {
  url: '',
  users: 100,
  roomSize: 4,
  docRate: 1,
  presenceRate: 5,
  durationMs: 60_000,
  rampMs: 10_000,
  drainMs: 2_000,
  protocol: 'y-websocket',
  roomPrefix: '',
  authToken: '',
  headers: {},
  query: '',
  workers: 1,
  seed: 1,
  docMix: DEFAULT_DOC_MIX,
  preloadOps: 0,
  connectTimeoutMs: 15_000,
  statsIntervalMs: 2_000,
};

export function validateConfig(config: LoadTestConfig): void {
  const url = new URL(config.url);
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`--url must be ws:// or wss://, got ${config.url}`);
  if (!(config.users >= 1)) throw new Error('--users must be at least 1');
  if (!(config.roomSize >= 1)) throw new Error('--room-size must be at least 1');
  if (config.docRate < 0 || config.presenceRate < 0) throw new Error('rates must be >= 0');
  if (!(config.durationMs > 0)) throw new Error('--duration must be > 0');
  if (config.rampMs < 0 || config.drainMs < 0) throw new Error('--ramp and --drain must be >= 0');
  if (!(config.workers >= 1)) throw new Error('--workers must be at least 1');
}
