/**
 * The load engine: drives a set of rooms of virtual users over WebSockets.
 *
 * One engine runs in one thread (the main thread, or a worker when --workers > 1); a room always
 * lives entirely in one engine, so "expected receipts" can be counted locally. The hot paths are
 * kept lean: document updates are encoded directly (yjs-writer.ts), nothing received is applied,
 * and a received message is only parsed far enough to find its send times (receipts.ts).
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import WebSocket from 'ws';
import { messageAuth, messageAwareness, messageSync, syncStep1, syncStep2, syncUpdate } from '../lib/core/protocol/message-types.js';
import { newCounters, type EngineCounters } from './counters.js';
import { Histogram, type HistogramData } from './histogram.js';
import { forEachAwarenessState, forEachDocMarker } from './receipts.js';
import { SendSchedule } from './send-schedule.js';
import { threadCpuMs, threadCpuSince } from './thread-cpu.js';
import { SimulatedRoom, UserState, VirtualUser } from './virtual-user.js';
import { afterDocumentName, hocuspocusPermissionDenied, hocuspocusSyncReply, type Protocol } from './wire.js';
import { makeMarker, prng, type DocMix } from './yjs-writer.js';

export type { Protocol } from './wire.js';

export interface RoomPlan {
  name: string;
  users: { index: number; connectAtUs: number }[];
}

export interface EngineConfig {
  /** Base URL; y-websocket appends `/<room>`, hocuspocus connects to it as is. */
  url: string;
  protocol: Protocol;
  query: string;
  headers: Record<string, string>;
  /** Sent in Hocuspocus' auth message. */
  authToken: string;
  rooms: RoomPlan[];
  totalUsers: number;
  docRate: number;
  presenceRate: number;
  docMix: DocMix;
  /** Client id of user 0; user n is `clientIdBase + n` (unique across threads). */
  clientIdBase: number;
  seed: number;
  /** Sending stops at this time (µs since t0). */
  sendEndUs: number;
  connectTimeoutMs: number;
  /** A Yjs update sent once per room by its first member after sync (memory runs), or null. */
  preload: Uint8Array | null;
  /** Max bytes buffered on a socket before sends to it are skipped (counted as backpressure). */
  maxBufferedBytes: number;
}

export interface EngineSnapshot {
  counters: EngineCounters;
  connectedNow: number;
  syncedNow: number;
  /**
   * Once sending stopped: pairs of a synced receiver and a member of its room whose last presence
   * state (sent after the receiver synced) the receiver does not hold. 0 before.
   */
  latestPresenceMissing: number;
  docLatency: HistogramData;
  presenceLatency: HistogramData;
  handshake: HistogramData;
  /** How late sends ran against their schedule. */
  sendLag: HistogramData;
  /** cpuMs: this thread's own CPU time (utime + stime) in the window, or -1 where /proc is missing */
  thread: { elu: number; delayP99Ms: number; delayMaxMs: number; cpuMs: number };
  errors: string[];
}

/** Due connections and sends are handled every tick: the resolution of the send schedule. */
const TICK_MS = 4;
/** The event-loop delay monitor's sampling resolution, which its readings include. */
const DELAY_RESOLUTION_MS = 10;
/** Distinct error messages kept per window (each counted once): enough to diagnose, bounded for a flood. */
const MAX_ERRORS_PER_WINDOW = 20;
/** How long `close` waits for sockets to close before terminating them. */
const CLOSE_GRACE_MS = 3000;

/** A send id names a user and what it sends: even ids are document updates, odd ones presence. */
const docSendId = (position: number) => position * 2;
const presenceSendId = (position: number) => position * 2 + 1;

export class LoadEngine {
  private readonly users: VirtualUser[] = [];
  private readonly byConnectTime: VirtualUser[];
  private nextToConnect = 0;
  private readonly schedule = new SendSchedule();
  private t0 = process.hrtime.bigint();
  private readonly docIntervalUs: number;
  private readonly presenceIntervalUs: number;
  private readonly hocuspocus: boolean;
  private readonly random: () => number;
  private ticker: NodeJS.Timeout | null = null;
  private closing = false;
  private sendingStopped = false;
  private counters = newCounters();
  private docLatency = new Histogram();
  private presenceLatency = new Histogram();
  private handshake = new Histogram();
  private sendLag = new Histogram();
  private connectedNow = 0;
  private syncedNow = 0;
  private errors: string[] = [];
  private readonly errorCounts = new Map<string, number>();
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpuMarkMs = threadCpuMs();
  private readonly loopDelay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });

  constructor(private readonly config: EngineConfig) {
    this.hocuspocus = config.protocol === 'hocuspocus';
    this.docIntervalUs = config.docRate > 0 ? 1e6 / config.docRate : Infinity;
    this.presenceIntervalUs = config.presenceRate > 0 ? 1e6 / config.presenceRate : Infinity;
    this.random = prng(config.seed ^ 0x9e3779b9);
    for (const plan of config.rooms) {
      const room = new SimulatedRoom(plan.name, config.protocol, config.authToken);
      for (const { index, connectAtUs } of plan.users) {
        const user = new VirtualUser(index, config.clientIdBase + index, room, connectAtUs, config.seed + index * 7919, config.docMix);
        user.position = this.users.length;
        room.members.push(user);
        this.users.push(user);
      }
    }
    this.byConnectTime = [...this.users].sort((a, b) => a.connectAtUs - b.connectAtUs);
  }

  /** µs since the run's t0. */
  now(): number {
    return Number(process.hrtime.bigint() - this.t0) / 1000;
  }

  /** Starts the clock at `t0` (process.hrtime.bigint() of the run start, as a string) and the schedule. */
  start(t0: string): void {
    this.t0 = BigInt(t0);
    this.loopDelay.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpuMarkMs = threadCpuMs();
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  private tick(): void {
    if (this.closing) return;
    const now = this.now();
    this.connectDueUsers(now);
    this.sendDueMessages(now);
  }

  private connectDueUsers(now: number): void {
    const queue = this.byConnectTime;
    while (this.nextToConnect < queue.length && queue[this.nextToConnect].connectAtUs <= now) this.connect(queue[this.nextToConnect++]);
  }

  private sendDueMessages(now: number): void {
    const schedule = this.schedule;
    while (schedule.size && schedule.nextDueUs() <= now) {
      const dueUs = schedule.nextDueUs();
      const id = schedule.nextId();
      schedule.removeNext();
      if (dueUs >= this.config.sendEndUs) continue;
      const user = this.users[id >> 1];
      if (user.state !== UserState.Synced) continue;
      const isDoc = (id & 1) === 0;
      this.sendLag.record(now - dueUs);
      if (isDoc) this.sendDocUpdate(user);
      else this.sendPresence(user);
      // The next send keeps the fixed interval from when this one was due: no drift.
      schedule.add(dueUs + (isDoc ? this.docIntervalUs : this.presenceIntervalUs), id);
    }
  }

  private roomUrl(room: SimulatedRoom): string {
    const base = this.config.url.replace(/\/+$/, '');
    const path = this.hocuspocus ? base : `${base}/${encodeURIComponent(room.name)}`;
    return this.config.query ? `${path}${path.includes('?') ? '&' : '?'}${this.config.query}` : path;
  }

  private noteError(message: string): void {
    const count = (this.errorCounts.get(message) ?? 0) + 1;
    this.errorCounts.set(message, count);
    if (count === 1 && this.errors.length < MAX_ERRORS_PER_WINDOW) this.errors.push(message);
  }

  private connect(user: VirtualUser): void {
    user.state = UserState.Connecting;
    user.connectStartUs = this.now();
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.roomUrl(user.room), {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        headers: this.config.headers,
        handshakeTimeout: this.config.connectTimeoutMs,
        // ws documents this hook for clients that need no masking entropy: the 4-byte mask stays
        // zero, which saves the generator a random fill per frame. The server still unmasks.
        generateMask: () => {},
      });
    } catch (error) {
      this.fail(user, `connect: ${(error as Error).message}`);
      return;
    }
    user.socket = socket;
    user.handshakeTimer = setTimeout(() => {
      if (user.state === UserState.Connecting || user.state === UserState.Open) this.fail(user, 'handshake timeout (no sync step 2)');
    }, this.config.connectTimeoutMs);
    socket.on('open', () => this.onOpen(user));
    socket.on('message', (data: Buffer) => this.receive(user, data));
    socket.on('unexpected-response', (_request, response) => this.fail(user, `HTTP ${response.statusCode} on upgrade`));
    socket.on('error', (error) => {
      if (user.state === UserState.Connecting) this.fail(user, `connect error: ${error.message}`);
      else this.noteError(`socket error: ${error.message}`);
    });
    socket.on('close', (code) => this.onClose(user, code));
  }

  private onOpen(user: VirtualUser): void {
    if (user.state !== UserState.Connecting) return;
    user.state = UserState.Open;
    this.counters.opened++;
    this.connectedNow++;
    for (const frame of user.room.frames.hello) this.send(user, frame);
  }

  private onClose(user: VirtualUser, code: number): void {
    if (user.connected) {
      this.leaveRoom(user);
      if (this.closing) {
        user.state = UserState.Closed;
      } else {
        user.state = UserState.Dropped;
        this.counters.dropped++;
        this.noteError(`connection closed by server (code ${code})`);
      }
    } else if (user.state === UserState.Connecting) {
      this.fail(user, `closed during connect (code ${code})`);
    }
    if (user.handshakeTimer) clearTimeout(user.handshakeTimer);
  }

  /** Takes a connected user out of the live counts (it no longer receives). */
  private leaveRoom(user: VirtualUser): void {
    this.connectedNow--;
    if (user.state === UserState.Synced) {
      this.syncedNow--;
      user.room.syncedCount--;
    }
  }

  private fail(user: VirtualUser, reason: string): void {
    const state = user.state;
    if (state === UserState.Failed || state === UserState.Dropped || state === UserState.Closed) return;
    if (user.connected) this.leaveRoom(user);
    user.state = UserState.Failed;
    this.counters.failed++;
    this.noteError(reason);
    if (user.handshakeTimer) clearTimeout(user.handshakeTimer);
    try {
      user.socket?.terminate();
    } catch {
      /* already gone */
    }
  }

  private send(user: VirtualUser, frame: Uint8Array): void {
    const socket = user.socket!;
    if (socket.bufferedAmount > this.config.maxBufferedBytes) {
      this.counters.skippedBackpressure++;
      return;
    }
    socket.send(frame);
    this.counters.messagesOut++;
    this.counters.bytesOut += frame.length;
  }

  private onSynced(user: VirtualUser, now: number): void {
    user.state = UserState.Synced;
    user.syncedAtUs = now;
    if (user.handshakeTimer) {
      clearTimeout(user.handshakeTimer);
      user.handshakeTimer = null;
    }
    this.counters.synced++;
    this.syncedNow++;
    user.room.syncedCount++;
    this.handshake.record(now - user.connectStartUs);
    const room = user.room;
    if (this.config.preload && !room.preloaded) {
      room.preloaded = true;
      this.send(user, room.frames.docUpdate(this.config.preload));
    }
    // The first sends at a random phase, so users that synced together do not send together.
    if (this.docIntervalUs !== Infinity) this.schedule.add(now + this.random() * this.docIntervalUs, docSendId(user.position));
    if (this.presenceIntervalUs !== Infinity) this.schedule.add(now + this.random() * this.presenceIntervalUs, presenceSendId(user.position));
  }

  private sendDocUpdate(user: VirtualUser): void {
    const edit = user.edits.next(makeMarker(this.now(), user.userNumber));
    const update = user.yjsWriter.encode(edit);
    this.counters.docSent++;
    this.counters.docBytesSent += update.length;
    this.counters.docExpected += user.room.syncedCount - 1;
    this.send(user, user.room.frames.docUpdate(update));
  }

  private sendPresence(user: VirtualUser): void {
    const now = this.now();
    // A cursor that wanders like a hand on a mouse.
    user.cursorX = Math.max(0, Math.min(1920, user.cursorX + Math.floor((this.random() - 0.5) * 60)));
    user.cursorY = Math.max(0, Math.min(1080, user.cursorY + Math.floor((this.random() - 0.5) * 40)));
    // The send time comes first: receivers find it without parsing the JSON (receipts.ts).
    const state =
      `{"t":${Math.floor(now)},"user":{"name":"${user.displayName}","color":"${user.color}"},` +
      `"cursor":{"x":${user.cursorX},"y":${user.cursorY}}}`;
    this.counters.presenceSent++;
    this.counters.presenceExpected += user.room.syncedCount - 1;
    user.lastPresenceSentUs = now;
    this.send(user, user.room.frames.awareness(user.clientId, ++user.awarenessClock, state));
  }

  private receive(user: VirtualUser, data: Buffer): void {
    this.counters.messagesIn++;
    this.counters.bytesIn += data.length;
    let position = this.hocuspocus ? afterDocumentName(data) : 0;
    const type = data[position++];
    if (type === messageSync || type === hocuspocusSyncReply) {
      const step = data[position++];
      if (step === syncUpdate) this.countDocReceipts(user, data, position);
      else if (step === syncStep1 && user.connected) this.send(user, user.room.frames.syncStep2Reply);
      else if (step === syncStep2 && user.state === UserState.Open) this.onSynced(user, this.now());
    } else if (type === messageAwareness) {
      this.countPresenceReceipts(user, data, position);
    } else if (type === messageAuth && this.hocuspocus && data[position] === hocuspocusPermissionDenied) {
      this.fail(user, 'permission denied by server');
    }
  }

  private countDocReceipts(user: VirtualUser, data: Buffer, position: number): void {
    let now = -1;
    forEachDocMarker(data, position, (sentAtUs, sender) => {
      if (sentAtUs < user.syncedAtUs) this.counters.docStale++;
      else if (sender === user.userNumber) this.counters.docEchoes++;
      else {
        if (now < 0) now = this.now();
        this.counters.docReceived++;
        this.docLatency.record(now - sentAtUs);
      }
    });
  }

  private countPresenceReceipts(user: VirtualUser, data: Buffer, position: number): void {
    let now = -1;
    forEachAwarenessState(data, position, (clientId, clock, sentAtUs) => {
      const sender = clientId - this.config.clientIdBase;
      // Other clients' states (a real user in the room), and states from before this user synced.
      if (sender < 0 || sender >= this.config.totalUsers || sentAtUs < user.syncedAtUs) return;
      if (sender === user.userNumber) {
        this.counters.presenceEchoes++;
        return;
      }
      const latest = (user.latestClockFrom ??= new Map());
      const previous = latest.get(sender);
      if (previous !== undefined && clock <= previous) return;
      if (previous !== undefined) this.counters.presenceSuperseded += clock - previous - 1;
      latest.set(sender, clock);
      if (now < 0) now = this.now();
      this.counters.presenceReceived++;
      this.presenceLatency.record(now - sentAtUs);
    });
  }

  /** What happened since the previous snapshot; the counters and histograms start again at zero. */
  snapshot(): EngineSnapshot {
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const cpuNowMs = threadCpuMs();
    const cpuMs = threadCpuSince(this.cpuMarkMs, cpuNowMs);
    this.cpuMarkMs = cpuNowMs;
    // The monitor records timer intervals, so its readings include the sampling resolution.
    const delayMs = (nanoseconds: number) => (this.loopDelay.count ? Math.max(0, nanoseconds / 1e6 - DELAY_RESOLUTION_MS) : 0);
    const delayP99Ms = delayMs(this.loopDelay.percentile(99));
    const delayMaxMs = delayMs(this.loopDelay.max);
    this.loopDelay.reset();
    const counters = this.counters;
    this.counters = newCounters();
    const errors = this.errors;
    this.errors = [];
    return {
      counters,
      connectedNow: this.connectedNow,
      syncedNow: this.syncedNow,
      latestPresenceMissing: this.sendingStopped ? this.countLatestPresenceMissing() : 0,
      docLatency: this.docLatency.take(),
      presenceLatency: this.presenceLatency.take(),
      handshake: this.handshake.take(),
      sendLag: this.sendLag.take(),
      thread: { elu: elu.utilization, delayP99Ms, delayMaxMs, cpuMs },
      errors,
    };
  }

  /** Stops connecting and sending (receiving goes on: in-flight messages still count). */
  stopSending(): void {
    this.sendingStopped = true;
    this.nextToConnect = this.byConnectTime.length;
    for (const user of this.users) {
      if (user.state === UserState.Pending) user.state = UserState.Closed;
    }
  }

  /** See `EngineSnapshot.latestPresenceMissing`. */
  private countLatestPresenceMissing(): number {
    let missing = 0;
    for (const receiver of this.users) {
      if (receiver.state !== UserState.Synced) continue;
      for (const sender of receiver.room.members) {
        if (sender === receiver || sender.lastPresenceSentUs < receiver.syncedAtUs) continue;
        if ((receiver.latestClockFrom?.get(sender.userNumber) ?? -1) < sender.awarenessClock) missing++;
      }
    }
    return missing;
  }

  /** Closes every socket; resolves when all are closed (or after graceMs, terminating the rest). */
  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.stopSending();
    this.closing = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    const closed: Promise<void>[] = [];
    for (const user of this.users) {
      if (user.handshakeTimer) clearTimeout(user.handshakeTimer);
      const socket = user.socket;
      if (!socket || socket.readyState === WebSocket.CLOSED) continue;
      closed.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
      try {
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close(1000);
      } catch {
        /* already closing */
      }
    }
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => {
        graceTimer = setTimeout(() => {
          for (const user of this.users) user.socket?.terminate();
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(graceTimer);
    this.loopDelay.disable();
  }
}
