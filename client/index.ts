/**
 * Symphony's browser SDK: rooms with a shared Yjs document, presence, per-user undo/redo, an
 * offline copy in IndexedDB and a connection status, on top of yjs, y-websocket and y-indexeddb.
 * @module symphony-collab/client
 */
export { createClient, SymphonyClient, type ClientOptions, type EnterRoomOptions } from './client.js';
export { Room, type RoomEventMap } from './room.js';
export type { RoomStatus, TokenSource, WebSocketClass } from './connection.js';
export { RoomPresence, type OtherUser } from './presence.js';
export { RoomHistory } from './history.js';
export { SymphonyClientError, type RoomErrorCode } from './errors.js';
// The Yjs the SDK uses: apps that import Yjs through the SDK never load a second copy.
export * as Y from 'yjs';
