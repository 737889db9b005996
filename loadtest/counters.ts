/**
 * What an engine counts during one sampling window. Engines hand their counters over and start
 * again at zero each window (see `LoadEngine.snapshot`), so a worker thread ships only deltas.
 */
export interface EngineCounters {
  /** Sockets that opened. */
  opened: number;
  /** Users that never got through the connect and sync handshake (error, refusal, timeout). */
  failed: number;
  /** Synced users whose socket the server closed during the run. */
  dropped: number;
  /** Users that completed the sync handshake. */
  synced: number;
  docSent: number;
  /** One per other synced member of the room, for each document update sent. */
  docExpected: number;
  docReceived: number;
  /** Copies of a user's own update sent back to it (real clients discard them). */
  docEchoes: number;
  /** Updates sent before the receiver synced: part of its initial state, not fan-out. */
  docStale: number;
  presenceSent: number;
  presenceExpected: number;
  presenceReceived: number;
  presenceEchoes: number;
  /**
   * States a receiver never got because a later state of the same sender arrived instead (a
   * server that coalesces presence keeps each client's latest state only): superseded, not lost.
   */
  presenceSuperseded: number;
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
  /** Sends skipped because the socket had more than `maxBufferedBytes` waiting. */
  skippedBackpressure: number;
  /** Bytes of Yjs updates sent (without framing): how fast the rooms' documents grow. */
  docBytesSent: number;
}

/** All counters at zero: a new window, or a total to add windows into. */
export const newCounters = (): EngineCounters => ({
  opened: 0,
  failed: 0,
  dropped: 0,
  synced: 0,
  docSent: 0,
  docExpected: 0,
  docReceived: 0,
  docEchoes: 0,
  docStale: 0,
  presenceSent: 0,
  presenceExpected: 0,
  presenceReceived: 0,
  presenceEchoes: 0,
  presenceSuperseded: 0,
  messagesIn: 0,
  bytesIn: 0,
  messagesOut: 0,
  bytesOut: 0,
  skippedBackpressure: 0,
  docBytesSent: 0,
});

export function addCounters(total: EngineCounters, window: EngineCounters): void {
  for (const key of Object.keys(window) as (keyof EngineCounters)[]) total[key] += window[key];
}
