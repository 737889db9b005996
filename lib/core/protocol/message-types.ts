/**
 * The y-websocket wire protocol: every WebSocket message starts with a varUint message type.
 * Stock `y-websocket` providers speak exactly this, so the numbers must never change.
 */
export const messageSync = 0;
export const messageAwareness = 1;
export const messageAuth = 2;
export const messageQueryAwareness = 3;

/** Sub-types of a sync message (y-protocols/sync). */
export const syncStep1 = 0;
export const syncStep2 = 1;
export const syncUpdate = 2;
