import type { Awareness } from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';
import { CloseCode } from '../lib/core/protocol/close-codes.js';
import { decideAfterClose } from './close-codes.js';
import { SymphonyClientError } from './errors.js';

/**
 * Where a room stands with the server.
 *
 * - `connecting`: the first connection attempt is under way.
 * - `connected`: the socket is open; the initial exchange with the server is not finished.
 * - `synced`: the room has the server's state and the server has this client's; changes flow live.
 * - `offline`: no connection. Local changes are kept (in IndexedDB when offline storage is on) and
 *   sent when the connection returns. The room retries in the background unless `room.error` says
 *   why it stopped.
 */
export type RoomStatus = 'connecting' | 'connected' | 'synced' | 'offline';

/**
 * The token sent as the `token` query parameter. A function is called before every connection
 * attempt, so a reconnect after an expiry carries a fresh token. Returning `null` means the user has
 * no access (signed out, membership removed): the room stops with an `auth-refused` error instead
 * of retrying.
 */
export type TokenSource = string | (() => string | null | Promise<string | null>);

/** A WebSocket class: the browser's, or `ws` in Node. */
export type WebSocketClass = typeof globalThis.WebSocket;

export interface ConnectionSettings {
  readonly url: string;
  readonly room: string;
  readonly doc: Y.Doc;
  readonly awareness: Awareness;
  readonly token: TokenSource | undefined;
  readonly WebSocket: WebSocketClass;
  readonly crossTab: boolean;
  readonly maxBackoffMs: number;
  readonly watchNetwork: boolean;
  readonly onStatus: (status: RoomStatus) => void;
  readonly onError: (error: SymphonyClientError) => void;
}

/**
 * A room's link to the server: y-websocket's `WebsocketProvider` (sync and awareness protocols,
 * reconnection with exponential back-off, cross-tab sync over BroadcastChannel), plus what an app
 * needs on top of it: a status with four clear states, the server's close codes read as errors,
 * a token refreshed before each reconnect, and the browser's offline/online events followed.
 */
export class RoomConnection {
  readonly provider: WebsocketProvider;
  private currentStatus: RoomStatus;
  private stoppedBy: SymphonyClientError | null = null;
  private active = true;
  private online: boolean;
  /** Incremented whenever a pending token refresh must be abandoned (a newer close, offline, stop). */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private tokenFailing = false;
  /** Whether the current (or last) socket synced: a 4401 before that refused the token just sent. */
  private syncedSinceOpen = false;

  constructor(private readonly settings: ConnectionSettings) {
    // y-websocket appends the room name to the URL as is; the server percent-decodes it.
    this.provider = new WebsocketProvider(settings.url, encodeURIComponent(settings.room), settings.doc, {
      // Opened below, once the first token is known.
      connect: false,
      awareness: settings.awareness,
      WebSocketPolyfill: settings.WebSocket,
      disableBc: !settings.crossTab,
      maxBackoffTime: settings.maxBackoffMs,
      // y-websocket stops on every 44xx code; 4429 (room full) is worth retrying.
      shouldReconnect: (event) => decideAfterClose(event.code).reconnect !== 'never',
    });
    this.provider.on('status', this.handleProviderStatus);
    this.provider.on('sync', this.handleSync);
    this.provider.on('connection-close', this.handleClose);
    // Tabs of the same browser share changes even while the server is out of reach.
    if (settings.crossTab) this.provider.connectBc();

    this.online = !settings.watchNetwork || globalThis.navigator?.onLine !== false;
    if (settings.watchNetwork) {
      globalThis.addEventListener('online', this.handleOnline);
      globalThis.addEventListener('offline', this.handleOffline);
    }
    this.currentStatus = this.online ? 'connecting' : 'offline';
    if (this.online) this.openWithFreshToken();
  }

  get status(): RoomStatus {
    return this.currentStatus;
  }

  /** The error that stopped the room from connecting, or null while it connects or retries. */
  get error(): SymphonyClientError | null {
    return this.stoppedBy;
  }

  /** Connects again after an error stopped the room (with a fresh token), or at once if it waits for a retry. */
  reconnect(): void {
    if (!this.active) return;
    this.stoppedBy = null;
    if (this.online && this.provider.ws === null) this.openWithFreshToken();
  }

  destroy(): void {
    this.active = false;
    this.generation++;
    this.clearRetry();
    if (this.settings.watchNetwork) {
      globalThis.removeEventListener('online', this.handleOnline);
      globalThis.removeEventListener('offline', this.handleOffline);
    }
    this.provider.destroy();
    this.setStatus('offline');
  }

  private stop(error: SymphonyClientError): void {
    this.generation++;
    this.clearRetry();
    this.provider.shouldConnect = false;
    this.stoppedBy = error;
    this.setStatus('offline');
    this.settings.onError(error);
  }

  private setStatus(status: RoomStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.settings.onStatus(status);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private canConnect(generation: number): boolean {
    return this.active && this.online && this.stoppedBy === null && generation === this.generation;
  }

  /** Resolves the token, puts it into the provider's params, then calls `then` (unless superseded meanwhile). */
  private withFreshToken(then: () => void): void {
    const generation = ++this.generation;
    const source = this.settings.token;
    void Promise.resolve()
      .then(() => (typeof source === 'function' ? source() : (source ?? undefined)))
      .then(
        (token) => {
          if (!this.canConnect(generation)) return;
          this.tokenFailing = false;
          if (token === null) {
            this.stop(new SymphonyClientError('auth-refused', this.settings.room, 'the token function returned null', { retrying: false }));
            return;
          }
          if (token !== undefined) this.provider.params = { ...this.provider.params, token };
          then();
        },
        (cause: unknown) => {
          if (!this.canConnect(generation)) return;
          this.setStatus('offline');
          // Reported once per streak: while the network is out, every retry would fail the same way.
          if (!this.tokenFailing) {
            this.tokenFailing = true;
            this.settings.onError(new SymphonyClientError('token-unavailable', this.settings.room, 'the token function failed; retrying', { retrying: true, cause }));
          }
          this.clearRetry();
          this.retryTimer = setTimeout(() => this.withFreshToken(then), this.settings.maxBackoffMs);
        },
      );
  }

  private openWithFreshToken(): void {
    this.clearRetry();
    this.withFreshToken(() => this.provider.connect());
  }

  private readonly handleClose = (event: CloseEvent | null): void => {
    // A close we caused ourselves: leaving, going offline, or a permanent error.
    if (!this.active || !this.online || this.stoppedBy !== null) return;
    this.setStatus('offline');
    const decision = decideAfterClose(event === null ? null : event.code);
    if (event?.code === CloseCode.authRevoked && typeof this.settings.token !== 'function' && !this.syncedSinceOpen) {
      // A static token refused at the handshake would be refused again on every retry.
      this.stop(new SymphonyClientError('auth-refused', this.settings.room, 'the server refused this token (4401)', { closeCode: event.code, retrying: false }));
      return;
    }
    if (decision.reconnect === 'never') {
      const error = decision.error ?? { code: 'refused' as const, message: 'the server refused the connection' };
      this.stop(new SymphonyClientError(error.code, this.settings.room, error.message, { closeCode: event?.code, retrying: false }));
      return;
    }
    if (decision.error !== null) {
      this.settings.onError(new SymphonyClientError(decision.error.code, this.settings.room, decision.error.message, { closeCode: event?.code, retrying: true }));
    }
    if (typeof this.settings.token !== 'function') return; // y-websocket reconnects by itself with the same params

    // y-websocket has just scheduled its reconnect (with its back-off); that timer opens a socket
    // only while `shouldConnect` holds. Hold it until the fresh token is in `params`.
    this.provider.shouldConnect = false;
    this.withFreshToken(() => {
      this.provider.shouldConnect = true;
      // A slow token function may come back after y-websocket's timer fired (and did nothing):
      // connect if no socket was opened within the longest back-off.
      const generation = this.generation;
      this.clearRetry();
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.canConnect(generation) && this.provider.ws === null) this.provider.connect();
      }, this.settings.maxBackoffMs);
    });
  };

  private readonly handleProviderStatus = ({ status }: { status: 'connected' | 'disconnected' | 'connecting' }): void => {
    if (status === 'connected') {
      this.syncedSinceOpen = false;
      this.setStatus('connected');
    }
    else if (status === 'disconnected') this.setStatus('offline');
    // 'connecting' is each attempt of the back-off loop; it does not change what the app shows.
  };

  private readonly handleSync = (synced: boolean): void => {
    if (synced) {
      this.syncedSinceOpen = true;
      this.clearRetry();
      this.setStatus('synced');
    }
  };

  private readonly handleOffline = (): void => {
    this.online = false;
    this.generation++;
    this.clearRetry();
    // A socket whose network is gone can take minutes to notice; close it now so the app shows
    // `offline` and reconnects as soon as the network returns.
    this.provider.disconnect();
    if (this.settings.crossTab) this.provider.connectBc();
    this.setStatus('offline');
  };

  private readonly handleOnline = (): void => {
    this.online = true;
    if (this.active && this.stoppedBy === null && this.provider.ws === null) this.openWithFreshToken();
  };
}
