import type { TokenSource, WebSocketClass } from './connection.js';
import { Room } from './room.js';

/** Options of `createClient`; only `url` is required. */
export interface ClientOptions {
  /**
   * WebSocket URL of Symphony's endpoint without the room, e.g. `wss://app.example.com/collab`.
   * Required.
   */
  url: string;
  /**
   * Sent as the `token` query parameter, which the server's `authenticate` hook reads. A function
   * is called before every connection attempt (so reconnects carry a fresh token); returning `null`
   * stops the room with an `auth-refused` error. @default no token
   */
  token?: TokenSource;
  /**
   * Keep each room in IndexedDB: the document is there before the socket connects, survives a
   * reload while offline, and changes made offline are sent when the network returns.
   * @default true where IndexedDB exists
   */
  offline?: boolean;
  /**
   * Prefix of the IndexedDB database names (`<prefix>:<url>/<room>`). Include the user's id when
   * several accounts share a browser, so one never opens another's offline copy.
   * @default 'symphony'
   */
  storagePrefix?: string;
  /** Sync the tabs of one browser directly over BroadcastChannel (also while offline). @default true */
  crossTab?: boolean;
  /** Minimum interval between two presence messages, in milliseconds (10 per second, like Liveblocks). @default 100 */
  presenceThrottleMs?: number;
  /** Changes closer together than this form one undo step, in milliseconds (Yjs' default). @default 500 */
  undoCaptureTimeoutMs?: number;
  /** Longest wait between two reconnection attempts, in milliseconds (y-websocket's default). @default 2500 */
  maxBackoffMs?: number;
  /**
   * Follow the browser's `offline`/`online` events: close the socket when the network goes (a dead
   * socket can otherwise take 30 s to notice) and reconnect as soon as it returns.
   * @default true in browsers
   */
  watchNetwork?: boolean;
  /** The WebSocket class; pass `ws`'s in Node. @default globalThis.WebSocket */
  WebSocket?: WebSocketClass;
}

/** Options of `client.enterRoom`; `P` is the shape of this app's presence. */
export interface EnterRoomOptions<P extends object> {
  /** This user's presence when entering (name, colour, cursor...). @default {} */
  initialPresence?: P;
}

type ResolvedClientOptions = Required<Omit<ClientOptions, 'token'>> & Pick<ClientOptions, 'token'>;

function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (typeof options?.url !== 'string' || !/^wss?:\/\//.test(options.url)) {
    throw new TypeError(`"url" must be a ws:// or wss:// URL such as "wss://example.com/collab", got ${JSON.stringify(options?.url)}`);
  }
  const WebSocketClass = options.WebSocket ?? globalThis.WebSocket;
  if (typeof WebSocketClass !== 'function') {
    throw new TypeError('no WebSocket implementation: pass the "WebSocket" option (e.g. `ws` in Node)');
  }
  for (const name of ['presenceThrottleMs', 'undoCaptureTimeoutMs', 'maxBackoffMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new TypeError(`"${name}" must be a non-negative number of milliseconds, got ${String(value)}`);
    }
  }
  const hasIndexedDb = typeof globalThis.indexedDB !== 'undefined';
  if (options.offline === true && !hasIndexedDb) throw new TypeError('"offline" needs IndexedDB, which this environment lacks');
  return {
    url: options.url.replace(/\/+$/, ''),
    token: options.token,
    offline: options.offline ?? hasIndexedDb,
    storagePrefix: options.storagePrefix ?? 'symphony',
    crossTab: options.crossTab ?? true,
    presenceThrottleMs: options.presenceThrottleMs ?? 100,
    undoCaptureTimeoutMs: options.undoCaptureTimeoutMs ?? 500,
    maxBackoffMs: options.maxBackoffMs ?? 2500,
    watchNetwork: options.watchNetwork ?? (typeof globalThis.addEventListener === 'function' && typeof globalThis.navigator !== 'undefined'),
    WebSocket: WebSocketClass,
  };
}

/** Entry point of the SDK: one per app (and server URL). */
export class SymphonyClient {
  private readonly options: ResolvedClientOptions;
  private readonly entered = new Map<string, Room<object>>();

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
  }

  /**
   * Enters room `name`: loads its offline copy, connects, and announces `initialPresence`. A room
   * can be entered once at a time per client; `room.leave()` before entering it again.
   */
  enterRoom<P extends object = Record<string, unknown>>(name: string, options: EnterRoomOptions<P> = {}): Room<P> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(`a room name must be a non-empty string, got ${JSON.stringify(name)}`);
    if (this.entered.has(name)) throw new Error(`room "${name}" is already entered by this client; leave it first`);
    const room: Room<P> = new Room<P>({
      ...this.options,
      token: this.options.token,
      name,
      initialPresence: options.initialPresence ?? ({} as P),
      storageName: `${this.options.storagePrefix}:${this.options.url}/${name}`,
      onLeft: () => {
        if (this.entered.get(name) === (room as unknown)) this.entered.delete(name);
      },
    });
    this.entered.set(name, room as unknown as Room<object>);
    return room;
  }

  /** The room `name` if this client is in it. */
  getRoom<P extends object = Record<string, unknown>>(name: string): Room<P> | undefined {
    return this.entered.get(name) as unknown as Room<P> | undefined;
  }

  /** Leaves every room. */
  async destroy(): Promise<void> {
    await Promise.all([...this.entered.values()].map((room) => room.leave()));
  }
}

/** Creates a client: `createClient({ url: 'wss://app.example.com/collab', token: () => getToken() })`. */
export function createClient(options: ClientOptions): SymphonyClient {
  return new SymphonyClient(options);
}
