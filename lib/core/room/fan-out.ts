/**
 * Adaptive coalescing of a room's broadcasts.
 *
 * Cost model: a broadcast costs one socket write (a system call) per receiver, and that write is
 * most of the CPU a relay spends. A room of n users each sending m messages a second costs
 * m × n × (n − 1) writes a second when every message is written at once. Gathering what a busy
 * room sends within one tick and writing each receiver one frame per tick costs
 * ticks × n writes instead, whatever m is.
 *
 * A quiet room pays no latency for it: the first `busyThresholdPerTick` messages of a tick are
 * written at once (to everyone but their sender, as before). Only what arrives after them waits
 * for the end of the tick, and the room then stays busy (everything waits for its tick's end)
 * until a tick passes in which it sent nothing.
 *
 * At the end of a busy tick the room's document updates are merged into one update and its
 * presence entries into one awareness update that keeps each client's latest entry (presence has
 * already ordered them by clock: a later entry of a client always supersedes an earlier one). The
 * two frames are encoded once and written to every connection, senders included: a Yjs update
 * a client already holds changes nothing there, and y-protocols ignores an awareness entry whose
 * clock is not newer than the one it holds, so echoes are harmless.
 */
import * as Y from 'yjs';
import type { Connection } from '../connection/connection.js';
import type { Counters } from '../counters.js';
import { readAwarenessUpdate, writeAwarenessUpdate, type AwarenessEntry } from '../protocol/awareness-update.js';
import { awarenessFrame, syncUpdateFrame, websocketFrame } from '../protocol/frames.js';

/**
 * Gathered bytes at which a room writes at once instead of waiting for the end of its tick. Writes
 * of this size cost little per byte, and a burst of large updates then reaches each socket in
 * several writes, each preceded by the slow-reader check, rather than in one unbounded write.
 */
export const MAX_GATHERED_BYTES = 65_536;

/** One clock for every room of a Symphony instance: one timer, however many rooms are busy. */
export class FanOutTicker {
  private readonly busyRooms = new Set<RoomFanOut>();
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly tickMs: number) {}

  /** Makes `room.endTick()` run at the end of the current tick (and each next one while it returns true). */
  watch(room: RoomFanOut): void {
    this.busyRooms.add(room);
    if (this.timer) return;
    this.timer = setInterval(this.tick, this.tickMs);
    // The sockets of the rooms keep the process alive, not the clock that serves them.
    this.timer.unref();
  }

  forget(room: RoomFanOut): void {
    this.busyRooms.delete(room);
  }

  stop(): void {
    this.busyRooms.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private readonly tick = (): void => {
    for (const room of this.busyRooms) if (!room.endTick()) this.busyRooms.delete(room);
    if (this.busyRooms.size === 0) this.stop();
  };
}

/** The broadcasts of one room: written at once while the room is quiet, gathered per tick while it is busy. */
export class RoomFanOut {
  private sentThisTick = 0;
  private watched = false;
  /** Document updates waiting for the end of the tick, in the order the document applied them. */
  private pendingUpdates: Uint8Array[] = [];
  /** Each client's latest presence entry waiting for the end of the tick. */
  private pendingPresence: Map<number, AwarenessEntry> | null = null;
  private pendingBytes = 0;

  constructor(
    private readonly connections: ReadonlySet<Connection>,
    private readonly counters: Counters,
    /** Null: every message is written at once. */
    private readonly ticker: FanOutTicker | null,
    private readonly busyThresholdPerTick: number,
  ) {}

  /** Relays a document update (as the document applied it) to every connection but `except`. */
  update(update: Uint8Array, except: Connection | null): void {
    if (this.sendsNow(except)) {
      this.write(syncUpdateFrame(update), except);
      return;
    }
    this.pendingUpdates.push(update);
    this.gathered(update.byteLength);
  }

  /**
   * Relays an awareness update to every connection but `except`. `message` is the whole awareness
   * message when the client's own bytes can be relayed as they are.
   */
  presence(update: Uint8Array, message: Uint8Array | null, except: Connection | null): void {
    if (this.sendsNow(except)) {
      this.write(message ?? awarenessFrame(update), except);
      return;
    }
    const latest = (this.pendingPresence ??= new Map());
    for (const entry of readAwarenessUpdate(update)) latest.set(entry.clientId, entry);
    this.gathered(update.byteLength);
  }

  /** Ends the room's tick: writes what it gathered. False when the room sent nothing in it (it is quiet again). */
  endTick(): boolean {
    if (this.pendingUpdates.length === 0 && this.pendingPresence === null) {
      this.sentThisTick = 0;
      this.watched = false;
      return false;
    }
    this.flush();
    // Still busy: the next tick's messages wait for its end too, so that each receiver gets one write a tick.
    this.sentThisTick = this.busyThresholdPerTick;
    return true;
  }

  /** Drops what is gathered (the room is leaving memory, its connections are gone). */
  stop(): void {
    this.ticker?.forget(this);
    this.watched = false;
    this.pendingUpdates = [];
    this.pendingPresence = null;
    this.pendingBytes = 0;
  }

  private gathered(bytes: number): void {
    this.pendingBytes += bytes;
    if (this.pendingBytes >= MAX_GATHERED_BYTES) this.flush();
  }

  private sendsNow(except: Connection | null): boolean {
    if (this.connections.size === (except ? 1 : 0)) return true;
    if (!this.ticker) return true;
    if (!this.watched) {
      this.watched = true;
      this.ticker.watch(this);
    }
    if (this.sentThisTick < this.busyThresholdPerTick && this.pendingUpdates.length === 0 && this.pendingPresence === null) {
      this.sentThisTick++;
      return true;
    }
    return false;
  }

  private flush(): void {
    const updates = this.pendingUpdates;
    const presence = this.pendingPresence;
    this.pendingUpdates = [];
    this.pendingPresence = null;
    this.pendingBytes = 0;
    if (this.connections.size === 0) return;
    const frames: Buffer[] = [];
    if (updates.length > 0) frames.push(websocketFrame(syncUpdateFrame(updates.length === 1 ? updates[0] : Y.mergeUpdates(updates))));
    if (presence) frames.push(websocketFrame(awarenessFrame(writeAwarenessUpdate(presence.values()))));
    // One write per receiver carries both frames.
    const frame = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    for (const connection of this.connections) connection.sendFrame(frame, frames.length);
    this.counters.messagesOut += this.connections.size * frames.length;
  }

  private write(message: Uint8Array, except: Connection | null): void {
    if (this.connections.size === (except ? 1 : 0)) return;
    const frame = websocketFrame(message);
    for (const connection of this.connections) {
      if (connection !== except) connection.sendFrame(frame);
    }
    this.counters.messagesOut += this.connections.size - (except ? 1 : 0);
  }
}
