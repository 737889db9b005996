/**
 * The load engine: drives a set of rooms of virtual users over WebSockets.
 *
 * One engine runs in one thread (the main thread, or a worker when --workers > 1); a room always
 * lives entirely in one engine, so "expected receipts" can be counted locally. The hot paths are
 * kept lean: document updates are encoded directly (yjs-writer.ts), nothing received is applied,
 * and a received message is only parsed far enough to find its latency markers.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { Histogram, type HistogramData } from './histogram.js';
import {
  MARKER_LENGTH,
  MARKER_PREFIX,
  MARKER_SENDER_DIGITS,
  MARKER_TIME_DIGITS,
  OpGenerator,
  YjsWriter,
  makeMarker,
  prng,
  type DocMix,
} from './yjs-writer.js';

export type Protocol = 'y-websocket' | 'hocuspocus';

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
  token: string;
  rooms: RoomPlan[];
  totalUsers: number;
  docRate: number;
  presenceRate: number;
  docMix: DocMix;
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

export interface EngineCounters {
  opened: number;
  failed: number;
  dropped: number;
  synced: number;
  docSent: number;
  docExpected: number;
  docRecv: number;
  docEcho: number;
  docStale: number;
  presSent: number;
  presExpected: number;
  presRecv: number;
  presEcho: number;
  msgsIn: number;
  bytesIn: number;
  msgsOut: number;
  bytesOut: number;
  skippedBackpressure: number;
  docBytesSent: number;
}

export interface EngineSnapshot {
  counters: EngineCounters;
  connectedNow: number;
  syncedNow: number;
  docHist: HistogramData;
  presHist: HistogramData;
  handshakeHist: HistogramData;
  lagHist: HistogramData;
  /** cpuMs: this thread's own CPU time (utime + stime) in the window, or -1 where /proc is missing */
  thread: { elu: number; delayP99Ms: number; delayMaxMs: number; cpuMs: number };
  errors: string[];
}

/** All counters at zero: a new engine, or a total to add runs into. */
export const newCounters = (): EngineCounters => ({
  opened: 0,
  failed: 0,
  dropped: 0,
  synced: 0,
  docSent: 0,
  docExpected: 0,
  docRecv: 0,
  docEcho: 0,
  docStale: 0,
  presSent: 0,
  presExpected: 0,
  presRecv: 0,
  presEcho: 0,
  msgsIn: 0,
  bytesIn: 0,
  msgsOut: 0,
  bytesOut: 0,
  skippedBackpressure: 0,
  docBytesSent: 0,
});

const enum State {
  Pending,
  Connecting,
  Open,
  Synced,
  Failed,
  Dropped,
  Closed,
}

const MARKER_BUF = Buffer.from(MARKER_PREFIX, 'latin1');
const T_KEY = Buffer.from('"t":', 'latin1');
const COLORS = ['#e11d48', '#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

class Room {
  readonly members: VUser[] = [];
  syncedCount = 0;
  preloaded = false;
  /** Bytes every message of this room starts with (hocuspocus: the document name). */
  readonly prefix: Uint8Array;
  readonly helloMessages: Uint8Array[];
  readonly step2Message: Uint8Array;

  constructor(
    readonly name: string,
    protocol: Protocol,
    token: string,
  ) {
    const p = encoding.createEncoder();
    if (protocol === 'hocuspocus') encoding.writeVarString(p, name);
    this.prefix = encoding.toUint8Array(p);
    const msg = (write: (e: encoding.Encoder) => void) => {
      const e = encoding.createEncoder();
      encoding.writeUint8Array(e, this.prefix);
      write(e);
      return encoding.toUint8Array(e);
    };
    // sync step 1 with an empty state vector (we hold nothing yet)
    const step1 = msg((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint8Array(e, new Uint8Array([0]));
    });
    // sync step 2 answering the server's step 1: an empty update. Everything this user ever
    // writes goes over this same socket, so the server never lacks anything from us.
    this.step2Message = msg((e) => {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 1);
      encoding.writeVarUint8Array(e, new Uint8Array([0, 0]));
    });
    if (protocol === 'hocuspocus') {
      const auth = msg((e) => {
        encoding.writeVarUint(e, 2); // Auth
        encoding.writeVarUint(e, 0); // Token
        encoding.writeVarString(e, token);
      });
      this.helloMessages = [auth, step1];
    } else {
      this.helloMessages = [step1];
    }
  }
}

class VUser {
  state = State.Pending;
  ws: WebSocket | null = null;
  connectStartUs = 0;
  syncedAtUs = Infinity;
  awarenessClock = 0;
  cursorX: number;
  cursorY: number;
  timer: NodeJS.Timeout | null = null;
  /** Position in the engine's user list (send events carry it). */
  local = 0;
  readonly writer: YjsWriter;
  readonly gen: OpGenerator;
  readonly name: string;
  readonly color: string;

  constructor(
    readonly index: number,
    readonly clientID: number,
    readonly room: Room,
    readonly connectAtUs: number,
    seed: number,
    mix: DocMix,
  ) {
    this.name = `vu-${index}`;
    this.color = COLORS[index % COLORS.length];
    this.writer = new YjsWriter(clientID);
    this.gen = new OpGenerator(this.name, `s${clientID}_`, seed, mix);
    this.cursorX = (index * 37) % 1600;
    this.cursorY = (index * 91) % 900;
  }
}

/** Binary min-heap of (time, id) send events. */
class EventHeap {
  private t = new Float64Array(1024);
  private id = new Int32Array(1024);
  size = 0;

  push(time: number, id: number): void {
    if (this.size === this.t.length) {
      const t = new Float64Array(this.size * 2);
      t.set(this.t);
      this.t = t;
      const ids = new Int32Array(this.size * 2);
      ids.set(this.id);
      this.id = ids;
    }
    let i = this.size++;
    const { t, id: ids } = this;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p] <= time) break;
      t[i] = t[p];
      ids[i] = ids[p];
      i = p;
    }
    t[i] = time;
    ids[i] = id;
  }

  peekTime(): number {
    return this.size ? this.t[0] : Infinity;
  }

  peekId(): number {
    return this.id[0];
  }

  pop(): void {
    const { t, id: ids } = this;
    const n = --this.size;
    if (n === 0) return;
    const time = t[n];
    const last = ids[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && t[c + 1] < t[c]) c++;
      if (t[c] >= time) break;
      t[i] = t[c];
      ids[i] = ids[c];
      i = c;
    }
    t[i] = time;
    ids[i] = last;
  }
}

const TICK_MS = 4;

const CLK_TCK = 100; // Linux USER_HZ

/** CPU time of the calling thread (utime + stime, ms) from /proc/thread-self, or -1 elsewhere. */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
  } catch {
    return -1;
  }
}

export class Engine {
  private readonly users: VUser[] = [];
  private readonly rooms: Room[] = [];
  private readonly byConnectTime: VUser[];
  private nextConnect = 0;
  private readonly heap = new EventHeap();
  private t0 = process.hrtime.bigint();
  private readonly docIntervalUs: number;
  private readonly presIntervalUs: number;
  private readonly hocus: boolean;
  private readonly rnd: () => number;
  private ticker: NodeJS.Timeout | null = null;
  private closing = false;
  private c = newCounters();
  private docHist = new Histogram();
  private presHist = new Histogram();
  private handshakeHist = new Histogram();
  private lagHist = new Histogram();
  private connectedNow = 0;
  private syncedNow = 0;
  private errors: string[] = [];
  private readonly errorCounts = new Map<string, number>();
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private cpuMark = threadCpuMs();
  private readonly delay = monitorEventLoopDelay({ resolution: 10 });
  private readonly minClient: number;

  constructor(private readonly cfg: EngineConfig) {
    this.hocus = cfg.protocol === 'hocuspocus';
    this.docIntervalUs = cfg.docRate > 0 ? 1e6 / cfg.docRate : Infinity;
    this.presIntervalUs = cfg.presenceRate > 0 ? 1e6 / cfg.presenceRate : Infinity;
    this.rnd = prng(cfg.seed ^ 0x9e3779b9);
    this.minClient = cfg.clientIdBase;
    for (const plan of cfg.rooms) {
      const room = new Room(plan.name, cfg.protocol, cfg.token);
      this.rooms.push(room);
      for (const u of plan.users) {
        const user = new VUser(u.index, cfg.clientIdBase + u.index, room, u.connectAtUs, cfg.seed + u.index * 7919, cfg.docMix);
        user.local = this.users.length;
        room.members.push(user);
        this.users.push(user);
      }
    }
    this.byConnectTime = [...this.users].sort((a, b) => a.connectAtUs - b.connectAtUs);
  }

  now(): number {
    return Number(process.hrtime.bigint() - this.t0) / 1000;
  }

  /** Starts the clock at `t0` (process.hrtime.bigint() of the run start, as a string) and the schedule. */
  start(t0: string): void {
    this.t0 = BigInt(t0);
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpuMark = threadCpuMs();
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  private tick(): void {
    if (this.closing) return;
    const now = this.now();
    // connections due
    const list = this.byConnectTime;
    while (this.nextConnect < list.length && list[this.nextConnect].connectAtUs <= now) {
      this.connect(list[this.nextConnect++]);
    }
    // sends due
    const heap = this.heap;
    const end = this.cfg.sendEndUs;
    while (heap.size && heap.peekTime() <= now) {
      const due = heap.peekTime();
      const id = heap.peekId();
      heap.pop();
      if (due >= end) continue;
      const user = this.users[id >> 1];
      if (user.state !== State.Synced) continue;
      const isDoc = (id & 1) === 0;
      this.lagHist.record(now - due);
      if (isDoc) this.sendDoc(user);
      else this.sendPresence(user);
      heap.push(due + (isDoc ? this.docIntervalUs : this.presIntervalUs), id);
    }
  }

  private url(room: Room): string {
    const base = this.cfg.url.replace(/\/+$/, '');
    const path = this.hocus ? base : `${base}/${encodeURIComponent(room.name)}`;
    return this.cfg.query ? `${path}${path.includes('?') ? '&' : '?'}${this.cfg.query}` : path;
  }

  private noteError(msg: string): void {
    const n = (this.errorCounts.get(msg) ?? 0) + 1;
    this.errorCounts.set(msg, n);
    if (n === 1 && this.errors.length < 20) this.errors.push(msg);
  }

  private connect(user: VUser): void {
    user.state = State.Connecting;
    user.connectStartUs = this.now();
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url(user.room), {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        headers: this.cfg.headers,
        handshakeTimeout: this.cfg.connectTimeoutMs,
        // ws documents this hook for clients that need no masking entropy: the 4-byte mask stays
        // zero, which saves the generator a random fill per frame. The server still unmasks.
        generateMask: () => {},
      });
    } catch (err) {
      this.fail(user, `connect: ${(err as Error).message}`);
      return;
    }
    user.ws = ws;
    user.timer = setTimeout(() => {
      if (user.state === State.Connecting || user.state === State.Open) {
        this.fail(user, 'handshake timeout (no sync step 2)');
      }
    }, this.cfg.connectTimeoutMs);
    ws.on('open', () => {
      if (user.state !== State.Connecting) return;
      user.state = State.Open;
      this.c.opened++;
      this.connectedNow++;
      for (const m of user.room.helloMessages) this.send(user, m);
    });
    ws.on('message', (data: Buffer) => this.onMessage(user, data));
    ws.on('unexpected-response', (_req, res) => {
      this.fail(user, `HTTP ${res.statusCode} on upgrade`);
    });
    ws.on('error', (err) => {
      if (user.state === State.Connecting) this.fail(user, `connect error: ${err.message}`);
      else this.noteError(`socket error: ${err.message}`);
    });
    ws.on('close', (code) => {
      const s = user.state;
      if (s === State.Open || s === State.Synced) {
        this.connectedNow--;
        if (s === State.Synced) {
          this.syncedNow--;
          user.room.syncedCount--;
        }
        if (this.closing) {
          user.state = State.Closed;
        } else {
          user.state = State.Dropped;
          this.c.dropped++;
          this.noteError(`connection closed by server (code ${code})`);
        }
      } else if (s === State.Connecting) {
        this.fail(user, `closed during connect (code ${code})`);
      }
      if (user.timer) clearTimeout(user.timer);
    });
  }

  private fail(user: VUser, reason: string): void {
    const s = user.state;
    if (s === State.Failed || s === State.Dropped || s === State.Closed) return;
    if (s === State.Open || s === State.Synced) this.connectedNow--;
    if (s === State.Synced) {
      this.syncedNow--;
      user.room.syncedCount--;
    }
    user.state = State.Failed;
    this.c.failed++;
    this.noteError(reason);
    if (user.timer) clearTimeout(user.timer);
    try {
      user.ws?.terminate();
    } catch {
      /* already gone */
    }
  }

  private send(user: VUser, msg: Uint8Array): void {
    const ws = user.ws!;
    if (ws.bufferedAmount > this.cfg.maxBufferedBytes) {
      this.c.skippedBackpressure++;
      return;
    }
    ws.send(msg);
    this.c.msgsOut++;
    this.c.bytesOut += msg.length;
  }

  private onSynced(user: VUser, now: number): void {
    user.state = State.Synced;
    user.syncedAtUs = now;
    if (user.timer) {
      clearTimeout(user.timer);
      user.timer = null;
    }
    this.c.synced++;
    this.syncedNow++;
    user.room.syncedCount++;
    this.handshakeHist.record(now - user.connectStartUs);
    const room = user.room;
    if (this.cfg.preload && !room.preloaded) {
      room.preloaded = true;
      const e = encoding.createEncoder();
      encoding.writeUint8Array(e, room.prefix);
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, this.cfg.preload);
      this.send(user, encoding.toUint8Array(e));
    }
    // first sends at a random phase, then at a fixed interval (no drift, no bunching)
    const id = user.local * 2;
    if (this.docIntervalUs !== Infinity) this.heap.push(now + this.rnd() * this.docIntervalUs, id);
    if (this.presIntervalUs !== Infinity) this.heap.push(now + this.rnd() * this.presIntervalUs, id + 1);
  }

  private sendDoc(user: VUser): void {
    const now = this.now();
    const op = user.gen.next(makeMarker(now, user.index));
    const e = encoding.createEncoder();
    encoding.writeUint8Array(e, user.room.prefix);
    encoding.writeVarUint(e, 0); // sync
    encoding.writeVarUint(e, 2); // update
    const update = user.writer.encode(op);
    encoding.writeVarUint8Array(e, update);
    this.c.docSent++;
    this.c.docBytesSent += update.length;
    this.c.docExpected += user.room.syncedCount - 1;
    this.send(user, encoding.toUint8Array(e));
  }

  private sendPresence(user: VUser): void {
    const now = this.now();
    // a cursor that wanders like a hand on a mouse
    user.cursorX = Math.max(0, Math.min(1920, user.cursorX + Math.floor((this.rnd() - 0.5) * 60)));
    user.cursorY = Math.max(0, Math.min(1080, user.cursorY + Math.floor((this.rnd() - 0.5) * 40)));
    const state =
      `{"t":${Math.floor(now)},"user":{"name":"${user.name}","color":"${user.color}"},` +
      `"cursor":{"x":${user.cursorX},"y":${user.cursorY}}}`;
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, 1);
    encoding.writeVarUint(inner, user.clientID);
    encoding.writeVarUint(inner, ++user.awarenessClock);
    encoding.writeVarString(inner, state);
    const e = encoding.createEncoder();
    encoding.writeUint8Array(e, user.room.prefix);
    encoding.writeVarUint(e, 1); // awareness
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    this.c.presSent++;
    this.c.presExpected += user.room.syncedCount - 1;
    this.send(user, encoding.toUint8Array(e));
  }

  private onMessage(user: VUser, data: Buffer): void {
    const c = this.c;
    c.msgsIn++;
    c.bytesIn += data.length;
    let pos = 0;
    if (this.hocus) {
      // skip the varString document name
      let len = 0;
      let shift = 0;
      let b: number;
      do {
        b = data[pos++];
        len |= (b & 0x7f) << shift;
        shift += 7;
      } while (b >= 0x80 && pos < data.length);
      pos += len;
    }
    const type = data[pos++];
    if (type === 0 || type === 4) {
      const sub = data[pos++];
      if (sub === 2) this.onDocUpdate(user, data, pos);
      else if (sub === 0) {
        if (user.state === State.Open || user.state === State.Synced) this.send(user, user.room.step2Message);
      } else if (sub === 1 && user.state === State.Open) this.onSynced(user, this.now());
    } else if (type === 1) {
      this.onAwareness(user, data, pos);
    } else if (type === 2 && this.hocus) {
      // auth reply: 2 = authenticated, 1 = permission denied
      if (data[pos] === 1) this.fail(user, 'permission denied by server');
    }
  }

  private onDocUpdate(user: VUser, data: Buffer, from: number): void {
    let i = data.indexOf(MARKER_BUF, from);
    if (i < 0) return;
    const now = this.now();
    const c = this.c;
    while (i >= 0) {
      const end = i + MARKER_LENGTH;
      if (end > data.length) break;
      let t = 0;
      let ok = true;
      let p = i + MARKER_BUF.length;
      for (let k = 0; k < MARKER_TIME_DIGITS; k++, p++) {
        const d = data[p] - 48;
        if (d < 0 || d > 9) {
          ok = false;
          break;
        }
        t = t * 10 + d;
      }
      let sender = 0;
      if (ok) {
        for (let k = 0; k < MARKER_SENDER_DIGITS; k++, p++) {
          const d = data[p] - 48;
          if (d < 0 || d > 9) {
            ok = false;
            break;
          }
          sender = sender * 10 + d;
        }
      }
      if (ok) {
        if (t < user.syncedAtUs) c.docStale++;
        else if (sender === user.index) c.docEcho++;
        else {
          c.docRecv++;
          this.docHist.record(now - t);
        }
        i = data.indexOf(MARKER_BUF, end);
      } else {
        i = data.indexOf(MARKER_BUF, i + 1);
      }
    }
  }

  private onAwareness(user: VUser, data: Buffer, pos: number): void {
    const n = data.length;
    const readVarUint = (): number => {
      let num = 0;
      let mult = 1;
      for (;;) {
        const b = data[pos++];
        num += (b & 0x7f) * mult;
        if (b < 0x80 || pos >= n) return num;
        mult *= 128;
      }
    };
    readVarUint(); // length of the awareness update
    const count = readVarUint();
    let now = -1;
    for (let k = 0; k < count && pos < n; k++) {
      const client = readVarUint();
      readVarUint(); // clock
      const len = readVarUint();
      const start = pos;
      pos += len;
      const sender = client - this.minClient;
      if (sender < 0 || sender >= this.cfg.totalUsers || len < 6) continue;
      // our states start with {"t":<µs>; a server that re-serialises JSON keeps key order
      let p = data[start + 1] === 0x22 && data[start + 2] === 0x74 && data[start + 3] === 0x22 ? start + 5 : -1;
      if (p < 0) {
        const q = data.indexOf(T_KEY, start);
        if (q < 0 || q >= pos) continue;
        p = q + 4;
      }
      let t = 0;
      while (p < pos) {
        const d = data[p] - 48;
        if (d < 0 || d > 9) break;
        t = t * 10 + d;
        p++;
      }
      if (t < user.syncedAtUs) continue; // state that predates this user's sync (initial snapshot)
      if (sender === user.index) {
        this.c.presEcho++;
        continue;
      }
      if (now < 0) now = this.now();
      this.c.presRecv++;
      this.presHist.record(now - t);
    }
  }

  snapshot(): EngineSnapshot {
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const cpuNow = threadCpuMs();
    const cpuMs = cpuNow >= 0 && this.cpuMark >= 0 ? cpuNow - this.cpuMark : -1;
    this.cpuMark = cpuNow;
    // the histogram records timer intervals, so subtract the sampling resolution (10 ms)
    const delayP99Ms = this.delay.count ? Math.max(0, this.delay.percentile(99) / 1e6 - 10) : 0;
    const delayMaxMs = this.delay.count ? Math.max(0, this.delay.max / 1e6 - 10) : 0;
    this.delay.reset();
    const counters = this.c;
    this.c = newCounters();
    const errors = this.errors;
    this.errors = [];
    return {
      counters,
      connectedNow: this.connectedNow,
      syncedNow: this.syncedNow,
      docHist: this.docHist.take(),
      presHist: this.presHist.take(),
      handshakeHist: this.handshakeHist.take(),
      lagHist: this.lagHist.take(),
      thread: { elu: elu.utilization, delayP99Ms, delayMaxMs, cpuMs },
      errors,
    };
  }

  /** Stops connecting and sending (receiving goes on: in-flight messages still count). */
  stopSending(): void {
    this.nextConnect = this.byConnectTime.length;
    for (const u of this.users) {
      if (u.state === State.Pending) u.state = State.Closed;
    }
  }

  /** Closes every socket; resolves when all are closed (or after graceMs, terminating the rest). */
  async close(graceMs = 3000): Promise<void> {
    this.stopSending();
    this.closing = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    const open: Promise<void>[] = [];
    for (const u of this.users) {
      if (u.timer) clearTimeout(u.timer);
      const ws = u.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) continue;
      open.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
      try {
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000);
      } catch {
        /* ignore */
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const u of this.users) u.ws?.terminate();
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.delay.disable();
  }
}
