export { attachSymphony, Symphony, type SymphonyStats } from './symphony.js';
export { defaultLimits, type SymphonyLimits, type SymphonyOptions } from './options.js';
export { CloseCode, CloseReason, type CloseCodeName, type CloseCodeValue } from './protocol/close-codes.js';
export type {
  AuthenticateContext,
  AuthResult,
  ChangePayload,
  ConnectionInfo,
  ConnectPayload,
  DisconnectPayload,
  LoadPayload,
  RoomInfo,
  StorePayload,
  SymphonyHooks,
  UpdateOrigin,
} from './types.js';
export type { SymphonyEventMap } from './events.js';
export type { DocumentStore } from './storage/document-store.js';
export { FileStore, type FileStoreOptions } from './storage/file-store.js';
export { MemoryStore } from './storage/memory-store.js';
export { documentToJSON } from './document/to-json.js';
export {
  AuthenticationError,
  CheckpointError,
  ClosedError,
  ConfigurationError,
  InvalidRoomNameError,
  RoomLoadError,
  SymphonyError,
} from './errors.js';
export { createJsonLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export type {
  CheckpointTicket,
  ReplicaMembership,
  ReplicatorNode,
  RoomReplica,
  RoomReplicator,
} from './cluster/replicator.js';
