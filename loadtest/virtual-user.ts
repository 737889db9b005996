import type WebSocket from 'ws';
import type { Protocol } from './wire.js';
import { RoomFrames } from './wire.js';
import { OpGenerator, YjsWriter, type DocMix } from './yjs-writer.js';

export const enum UserState {
  /** Not yet due to connect. */
  Pending,
  Connecting,
  /** The socket is open; the sync handshake is under way. */
  Open,
  /** Handshake done: the user sends and its receipts count. */
  Synced,
  Failed,
  /** The server closed a synced or open socket during the run. */
  Dropped,
  /** Closed by the generator at the end, or never connected because sending stopped. */
  Closed,
}

/** Colours of the simulated cursors' owners (what a whiteboard shows next to a cursor). */
const USER_COLORS = ['#e11d48', '#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

/** The virtual users of one room, and the frames they share. */
export class SimulatedRoom {
  readonly members: VirtualUser[] = [];
  /** Members that completed the handshake and are still connected: the receivers of each send. */
  syncedCount = 0;
  /** Whether a member uploaded the preload document already (once per room). */
  preloaded = false;
  readonly frames: RoomFrames;

  constructor(
    readonly name: string,
    protocol: Protocol,
    authToken: string,
  ) {
    this.frames = new RoomFrames(name, protocol, authToken);
  }
}

/** One simulated collaborator: its socket, its place in the handshake, its edits and its cursor. */
export class VirtualUser {
  state = UserState.Pending;
  socket: WebSocket | null = null;
  connectStartUs = 0;
  /** Anything sent before this moment reaches the user as initial state, not as fan-out. */
  syncedAtUs = Infinity;
  awarenessClock = 0;
  /** When this user last sent its presence (µs since start). */
  lastPresenceSentUs = -1;
  /** The latest presence clock received from each other member (by user number), once one arrived. */
  latestClockFrom: Map<number, number> | null = null;
  cursorX: number;
  cursorY: number;
  /** Fails the user if the handshake does not complete within the connect timeout. */
  handshakeTimer: NodeJS.Timeout | null = null;
  /** Position in the engine's user list: send ids carry it. */
  position = 0;
  readonly yjsWriter: YjsWriter;
  readonly edits: OpGenerator;
  readonly displayName: string;
  readonly color: string;

  constructor(
    /** The user's number in the whole run (all threads): latency markers carry it as the sender. */
    readonly userNumber: number,
    readonly clientId: number,
    readonly room: SimulatedRoom,
    readonly connectAtUs: number,
    seed: number,
    docMix: DocMix,
  ) {
    this.displayName = `vu-${userNumber}`;
    this.color = USER_COLORS[userNumber % USER_COLORS.length];
    this.yjsWriter = new YjsWriter(clientId);
    this.edits = new OpGenerator(this.displayName, `s${clientId}_`, seed, docMix);
    // Spread the cursors over a full-HD canvas so rooms do not look like one stacked point.
    this.cursorX = (userNumber * 37) % 1600;
    this.cursorY = (userNumber * 91) % 900;
  }

  /** Connected and counted among the room's receivers. */
  get connected(): boolean {
    return this.state === UserState.Open || this.state === UserState.Synced;
  }
}
