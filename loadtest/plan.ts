/** What each thread runs: the rooms, who joins them when, and the document each room starts with. */
import * as Y from 'yjs';
import type { LoadTestConfig } from './config.js';
import type { EngineConfig, RoomPlan } from './engine.js';
import { OpGenerator, SHAPES_KEY, TEXT_KEY } from './yjs-writer.js';

/** More than any socket should hold: sends beyond it are skipped and counted, not queued without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** One document's worth of edits, encoded once and uploaded to each room (memory runs). */
export function buildPreload(ops: number, seed: number): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1;
  const shapes = doc.getMap(SHAPES_KEY);
  const text = doc.getText(TEXT_KEY);
  const edits = new OpGenerator('preload', 'p_', seed);
  for (let index = 0; index < ops; index++) {
    const edit = edits.next('');
    if (edit.kind === 'text') text.insert(text.length, edit.text);
    else shapes.set(edit.key, edit.value);
  }
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

/** The rooms, filled round-robin so they fill evenly during the ramp, and each user's connect time. */
export function planRooms(config: LoadTestConfig): RoomPlan[] {
  const roomCount = Math.ceil(config.users / config.roomSize);
  const rooms: RoomPlan[] = [];
  for (let room = 0; room < roomCount; room++) rooms.push({ name: `${config.roomPrefix}${room}`, users: [] });
  const rampUs = config.rampMs * 1000;
  for (let user = 0; user < config.users; user++) {
    rooms[user % roomCount].users.push({ index: user, connectAtUs: config.users > 1 ? (rampUs * user) / config.users : 0 });
  }
  return rooms;
}

/** The engine configuration of thread `thread` of `config.workers`: every workers-th room. */
export function engineConfigFor(
  config: LoadTestConfig,
  thread: number,
  plans: RoomPlan[],
  shared: { preload: Uint8Array | null; clientIdBase: number; sendEndUs: number },
): EngineConfig {
  return {
    url: config.url,
    protocol: config.protocol,
    query: config.query,
    headers: config.headers,
    authToken: config.authToken,
    rooms: plans.filter((_, index) => index % config.workers === thread),
    totalUsers: config.users,
    docRate: config.docRate,
    presenceRate: config.presenceRate,
    docMix: config.docMix,
    clientIdBase: shared.clientIdBase,
    // Distinct per thread (a prime apart), so threads do not generate the same edits.
    seed: config.seed + thread * 104729,
    sendEndUs: shared.sendEndUs,
    connectTimeoutMs: config.connectTimeoutMs,
    preload: shared.preload,
    maxBufferedBytes: MAX_BUFFERED_BYTES,
  };
}
