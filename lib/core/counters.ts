/** Totals of one Symphony instance (a process may run several), read by `symphony.stats()`, the dashboard and the metrics endpoint. */
export interface Counters {
  messagesIn: number;
  messagesOut: number;
  connectionsOpened: number;
  connectionsRejected: number;
  protocolErrors: number;
  droppedReadOnlyUpdates: number;
  checkpoints: number;
  checkpointFailures: number;
  roomLoadFailures: number;
  /** Damaged stored files found while loading rooms (each quarantined). */
  storageDamageFound: number;
  /** Client updates refused because the room's store could not write. */
  updatesRefusedUnwritable: number;
}

export function createCounters(): Counters {
  return {
    messagesIn: 0,
    messagesOut: 0,
    connectionsOpened: 0,
    connectionsRejected: 0,
    protocolErrors: 0,
    droppedReadOnlyUpdates: 0,
    checkpoints: 0,
    checkpointFailures: 0,
    roomLoadFailures: 0,
    storageDamageFound: 0,
    updatesRefusedUnwritable: 0,
  };
}
