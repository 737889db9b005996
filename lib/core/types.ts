import type { IncomingMessage } from 'node:http';
import type * as Y from 'yjs';

/**
 * Where a document change came from. Every transaction Symphony applies carries one of these as
 * its Yjs origin, so hooks and observers never have to guess.
 */
export type UpdateOrigin =
  /** A connected client sent the update. */
  | { readonly kind: 'client'; readonly connectionId: string; readonly userId: string }
  /** Host code changed the document through `symphony.change()`. */
  | { readonly kind: 'server'; readonly reason?: string }
  /** Another Symphony node relayed the update (cluster mode). */
  | { readonly kind: 'remote'; readonly nodeId: string }
  /** The stored state applied while the room loads. */
  | { readonly kind: 'load' };

/** What `authenticate` resolves to for an accepted connection. */
export interface AuthResult {
  /** Stable id of the user, shown on the dashboard and passed to hooks. */
  userId: string;
  /** A read-only connection receives the document and presence, but its document updates are dropped. */
  readOnly?: boolean;
  /**
   * When the credentials stop being valid (a `Date`, or epoch milliseconds): the connection is
   * then closed with 4401, and a client reconnects with a fresh token that `authenticate` checks
   * again. Already past: the connection is refused with 4401. Absent: the connection lasts until
   * it closes or `symphony.disconnect()` closes it.
   */
  expiresAt?: Date | number;
  /** Anything else the host app wants to keep with the connection (available in hooks). */
  [key: string]: unknown;
}

/** What `authenticate` receives for each WebSocket upgrade, before a socket or a room exists. */
export interface AuthenticateContext {
  readonly request: IncomingMessage;
  readonly room: string;
  /** The `token` query parameter (y-websocket's `params: { token }`), or null. */
  readonly token: string | null;
}

/** A connection as host code and the dashboard see it. */
export interface ConnectionInfo {
  readonly id: string;
  readonly room: string;
  readonly userId: string;
  readonly readOnly: boolean;
  readonly auth: Readonly<AuthResult>;
  readonly connectedAt: Date;
  readonly remoteAddress: string | undefined;
  readonly messagesIn: number;
  readonly messagesOut: number;
  /** Document updates a read-only connection sent, which were dropped. */
  readonly droppedUpdates: number;
}

/** A loaded room as host code and the dashboard see it. */
export interface RoomInfo {
  readonly name: string;
  readonly connections: number;
  /** Size of the document's encoded state: exact at load and each checkpoint, estimated from update sizes in between. */
  readonly documentBytes: number;
  readonly loadedAt: Date;
  readonly lastActivityAt: Date;
  readonly lastCheckpointAt: Date | null;
  /** True while the room has changes no checkpoint covers. */
  readonly unsaved: boolean;
}

/** `onLoad`: a room was loaded into memory. */
export interface LoadPayload {
  readonly room: string;
  readonly doc: Y.Doc;
  /** Where the state came from: the document store, another node, or nowhere (a new room). */
  readonly source: 'store' | 'peer' | 'new';
}

/** `onChange`: an update was applied to a room's document; `update` is in Yjs' update format. */
export interface ChangePayload {
  readonly room: string;
  readonly doc: Y.Doc;
  readonly update: Uint8Array;
  readonly origin: UpdateOrigin;
}

/** `onStore`: a checkpoint of the room's whole `state` was written, in `durationMs`. */
export interface StorePayload {
  readonly room: string;
  readonly state: Uint8Array;
  readonly durationMs: number;
}

/** `onConnect`: a connection was accepted and joined the room. */
export interface ConnectPayload {
  readonly room: string;
  readonly connection: ConnectionInfo;
}

/** `onDisconnect`: a connection left the room, with the close `code` and `reason` it was closed with. */
export interface DisconnectPayload {
  readonly room: string;
  readonly connection: ConnectionInfo;
  readonly code: number;
  readonly reason: string;
}

/**
 * Lifecycle hooks. All are optional; a hook that throws is logged and does not affect
 * collaboration, except `authenticate`, whose rejection refuses the connection.
 */
export interface SymphonyHooks {
  /**
   * Accepts (resolve) or refuses (reject, ideally with an `AuthenticationError`) a connection before
   * the room is loaded. An `AuthenticationError`'s message is sent to the client as the close
   * reason (see `refuseWithCloseCode`); any other error is refused as `unauthorized`. Bounded by
   * `limits.authenticateTimeoutMs`.
   */
  authenticate?: (context: AuthenticateContext) => AuthResult | Promise<AuthResult>;
  /** After a room's state is loaded, before any client sees it. */
  onLoad?: (payload: LoadPayload) => void | Promise<void>;
  /** After every applied document update (keep it cheap: it runs on the hot path). */
  onChange?: (payload: ChangePayload) => void;
  /** After a checkpoint was written to the document store. */
  onStore?: (payload: StorePayload) => void | Promise<void>;
  /** After a connection is accepted and has joined its room. */
  onConnect?: (payload: ConnectPayload) => void | Promise<void>;
  /** After a connection closed, whoever closed it. */
  onDisconnect?: (payload: DisconnectPayload) => void | Promise<void>;
}
