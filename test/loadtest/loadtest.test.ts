/**
 * The load-test tool against real servers, briefly. These tests check that the generator speaks
 * each protocol correctly (messages sent, received, latencies computed, documents converge) —
 * never how fast anything is.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as HocuspocusServer } from '@hocuspocus/server';
import { docs as ywsDocs, setupWSConnection } from '@y/websocket-server/utils';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket, { WebSocketServer } from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { parseCommandLine, parseDuration } from '../../loadtest/args.js';
import { Histogram } from '../../loadtest/histogram.js';
import { forEachAwarenessState, forEachDocMarker } from '../../loadtest/receipts.js';
import { buildPreload, runLoadTest, type LoadTestResult } from '../../loadtest/run.js';
import { extractStats, statsUrlFrom } from '../../loadtest/server-stats.js';
import { OpGenerator, YjsWriter, makeMarker } from '../../loadtest/yjs-writer.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

/** Every writer of every room left shapes and text in the room's document. */
function assertRoomContent(doc: Y.Doc, writers: string[]): void {
  const shapes = doc.getMap('shapes').toJSON() as Record<string, { by: string; m: string }>;
  const text = doc.getText('notes').toString();
  const authors = new Set(Object.values(shapes).map((s) => s.by));
  for (const w of writers) {
    assert.ok(authors.has(w) || text.length > 0, `no edits from ${w}`);
  }
  assert.ok(Object.keys(shapes).length > 0, 'no shapes');
  assert.equal(doc.store.pendingStructs, null, 'updates were not causal: the document has pending structs');
  assert.equal(doc.store.pendingDs, null, 'pending deletes');
}

function assertTraffic(r: LoadTestResult, users: number): void {
  assert.equal(r.connections.opened, users);
  assert.equal(r.connections.synced, users);
  assert.equal(r.connections.failed, 0);
  assert.equal(r.connections.dropped, 0);
  assert.ok(r.messages.doc.sent > 0, 'no document updates sent');
  assert.ok(r.messages.doc.received > 0, 'no document updates received');
  assert.ok(r.messages.presence.sent > 0, 'no presence sent');
  assert.ok(r.messages.presence.received > 0, 'no presence received');
  assert.ok(r.messages.doc.received <= r.messages.doc.expected, 'received more than expected');
  assert.ok(r.latencyMs.doc.count > 0 && r.latencyMs.doc.p50 > 0, 'no document latency');
  assert.ok(r.latencyMs.presence.count > 0 && r.latencyMs.presence.p99 >= r.latencyMs.presence.p50, 'no presence latency');
  assert.ok(r.timeseries.length >= 3, 'no time series');
  assert.ok(r.generator.threads.length >= 1);
}

describe('loadtest: Yjs updates', () => {
  it('encodes byte for byte what a Y.Doc holding the writer\'s edits emits', () => {
    const doc = new Y.Doc();
    doc.clientID = 987654;
    const map = doc.getMap('shapes');
    const text = doc.getText('notes');
    let emitted: Uint8Array | null = null;
    doc.on('update', (u: Uint8Array) => (emitted = u));
    const writer = new YjsWriter(987654);
    const gen = new OpGenerator('vu-1', 's987654_', 42);
    for (let i = 0; i < 500; i++) {
      const op = gen.next(makeMarker(i * 1234, 1));
      const mine = writer.encode(op);
      doc.transact(() => {
        if (op.kind === 'text') text.insert(text.length, op.text);
        else map.set(op.key, op.value);
      });
      assert.deepEqual(Buffer.from(mine), Buffer.from(emitted!), `op ${i} (${op.kind}) differs`);
    }
    doc.destroy();
  });

  it('interleaved writers\' updates apply without pending structs', () => {
    const server = new Y.Doc();
    const writers = [1001, 1002, 1003].map((id) => ({ w: new YjsWriter(id), g: new OpGenerator(`vu-${id}`, `s${id}_`, id) }));
    for (let i = 0; i < 300; i++) {
      const { w, g } = writers[i % 3];
      Y.applyUpdate(server, w.encode(g.next(makeMarker(i, i % 3))));
    }
    assertRoomContent(server, ['vu-1001', 'vu-1002', 'vu-1003']);
    server.destroy();
  });

  it('builds a preload document', () => {
    const update = buildPreload(50, 1);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, update);
    assert.ok(doc.getMap('shapes').size > 0);
    doc.destroy();
  });
});

describe('loadtest: reading send times from received bytes', () => {
  it('finds the send time and sender of every marker in an update, and skips text that only looks like one', () => {
    const bytes = Buffer.from(`xx${makeMarker(1_234_567, 42)} ~yL12ab ${makeMarker(99, 7)}`, 'latin1');
    const found: [number, number][] = [];
    forEachDocMarker(bytes, 0, (sentAtUs, sender) => found.push([sentAtUs, sender]));
    assert.deepEqual(found, [
      [1_234_567, 42],
      [99, 7],
    ]);
  });

  it('reads the send time of each awareness state, wherever a server put the "t" key', () => {
    const encoder = encoding.createEncoder();
    const states: [number, string][] = [
      [1001, '{"t":5000,"cursor":{"x":1}}'],
      [1002, '{"user":{"name":"a"},"t":6000}'],
      [1003, '{"user":{"name":"no time"}}'],
    ];
    encoding.writeVarUint(encoder, states.length);
    for (const [clientId, json] of states) {
      encoding.writeVarUint(encoder, clientId);
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarString(encoder, json);
    }
    const update = encoding.toUint8Array(encoder);
    const message = encoding.createEncoder();
    encoding.writeVarUint(message, 1); // the awareness message type
    encoding.writeVarUint8Array(message, update);
    const found: [number, number][] = [];
    forEachAwarenessState(Buffer.from(encoding.toUint8Array(message)), 1, (clientId, _clock, sentAtUs) => found.push([clientId, sentAtUs]));
    assert.deepEqual(found, [
      [1001, 5000],
      [1002, 6000],
    ]);
  });
});

describe('loadtest: helpers', () => {
  it('histogram quantiles are within 2 %', () => {
    const h = new Histogram();
    for (let i = 1; i <= 10000; i++) h.record(i * 10);
    const p50 = h.quantile(0.5);
    const p99 = h.quantile(0.99);
    assert.ok(Math.abs(p50 - 50000) / 50000 < 0.02, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 99000) / 99000 < 0.02, `p99 ${p99}`);
    assert.equal(h.max, 100000);
    const other = Histogram.from(h.take());
    assert.equal(h.count, 0);
    assert.equal(other.count, 10000);
  });

  it('parses the command line with durations, bare --json meaning stdout, and a required --url', () => {
    assert.equal(parseDuration('60s'), 60000);
    assert.equal(parseDuration('2m'), 120000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('3'), 3000);
    const options = parseCommandLine(['--url', 'ws://h:1/collab', '--users', '2000', '--room-size', '4', '--doc-rate', '1', '--presence-rate', '5', '--duration', '60s', '--ramp', '30s', '--json', '--report', 'r.html']);
    assert.equal(options.config.users, 2000);
    assert.equal(options.config.rampMs, 30000);
    assert.equal(options.config.presenceRate, 5);
    assert.equal(options.config.drainMs, 2000, 'an option not given keeps its default');
    assert.equal(options.json, '-');
    assert.equal(options.report, 'r.html');
    assert.equal(parseCommandLine(['--url=ws://h/c', '--json', 'out.json']).json, 'out.json');
    assert.equal(parseCommandLine(['--url=ws://h/c', '--json']).json, '-');
    assert.deepEqual(parseCommandLine(['--url=ws://h/c', '--header', 'Cookie: a=b', '--header', 'X-Team: 7']).config.headers, { Cookie: 'a=b', 'X-Team': '7' });
    assert.throws(() => parseCommandLine(['--users', '10']), /--url is required/);
    assert.throws(() => parseCommandLine(['--url', 'ws://h', '--bogus']), /unknown option "--bogus"/);
    assert.throws(() => parseCommandLine(['--url', 'ws://h', '--users', '0']), /--users needs a number >= 1/);
    assert.throws(() => parseCommandLine(['--url']), /--url needs a value/);
  });

  it("names the server's token and the dashboard's token apart, and still takes the old --token with a warning", () => {
    const options = parseCommandLine(['--url', 'ws://h', '--auth-token', 'server-secret', '--dashboard-token', 'admin-secret']);
    assert.equal(options.config.authToken, 'server-secret');
    assert.equal(options.config.dashboardToken, 'admin-secret');
    assert.deepEqual(options.warnings, []);
    const old = parseCommandLine(['--url', 'ws://h', '--token', 'admin-secret']);
    assert.equal(old.config.dashboardToken, 'admin-secret');
    assert.equal(old.config.authToken, '');
    assert.match(old.warnings.join(), /--token is deprecated: use --dashboard-token/);
  });

  it('reads CPU and memory from a stats response of any reasonable shape', () => {
    assert.equal(statsUrlFrom('http://h:3000/admin'), 'http://h:3000/admin/api/stats');
    assert.equal(statsUrlFrom('http://h:3000'), 'http://h:3000/admin/api/stats');
    assert.equal(statsUrlFrom('http://h:3000/admin/api/stats'), 'http://h:3000/admin/api/stats');
    const a = extractStats({ process: { cpuPercent: 42, memory: { rss: 1000, heapUsed: 500 } } });
    assert.deepEqual([a.cpuPercent, a.rssBytes, a.heapUsedBytes], [42, 1000, 500]);
    const b = extractStats({ cpu: { user: 2000, system: 1000 }, memory: { rss: 5 } });
    assert.deepEqual([b.cpuPercent, b.cpuTimeMs, b.rssBytes], [null, 3, 5]);
    // the shape of Symphony's DashboardStats
    const c = extractStats({ nodeId: 'n', rooms: 3, connections: 10, messagesPerSecond: { in: 1, out: 2 }, memory: { rssBytes: 7, heapUsedBytes: 6, heapTotalBytes: 9, externalBytes: 1 } });
    assert.deepEqual([c.cpuPercent, c.rssBytes, c.heapUsedBytes], [null, 7, 6]);
  });
});

describe('loadtest: against @y/websocket-server (y-websocket protocol)', function () {
  this.timeout(30000);
  let server: http.Server;
  let wss: WebSocketServer;
  let url: string;

  before(async () => {
    server = http.createServer((_q, s) => s.end('ok'));
    wss = new WebSocketServer({ noServer: true });
    wss.on('connection', setupWSConnection);
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/collab`;
  });

  after(async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise((r) => server.close(r));
    for (const d of ywsDocs.values()) d.destroy();
    ywsDocs.clear();
  });

  it('8 users in 2 rooms: sends, receives, measures, and a real client converges', async () => {
    const result = await runLoadTest({ url, users: 8, roomSize: 4, rampMs: 400, durationMs: 2500, drainMs: 500, roomPrefix: 'yws-' });
    assertTraffic(result, 8);
    assert.equal(result.rooms, 2);
    // the reference server echoes every update to its sender
    assert.ok(result.messages.doc.echoes > 0);
    for (const room of ['yws-0', 'yws-1']) {
      const serverDoc = ywsDocs.get(`collab/${room}`);
      assert.ok(serverDoc, `server has no document for ${room}`);
      assertRoomContent(serverDoc, []);
      // a real y-websocket client syncs the same content
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(url, room, doc, { WebSocketPolyfill: WebSocket as never, disableBc: true });
      await waitUntil(() => provider.synced);
      assert.deepEqual(doc.getMap('shapes').toJSON(), serverDoc.getMap('shapes').toJSON());
      assert.equal(doc.getText('notes').toString(), serverDoc.getText('notes').toString());
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
    }
  });
});

describe('loadtest: against Symphony coalescing busy rooms', function () {
  this.timeout(30_000);
  let server: RunningSymphony;

  before(async () => {
    server = await startSymphony({ fanOut: { tickMs: 50, busyThresholdPerTick: 1 } });
  });

  after(async () => {
    await server.close();
  });

  it('measures merged frames: every update and latency found, superseded presence apart from lost, every latest state delivered', async () => {
    const result = await runLoadTest({ url: server.url, users: 10, roomSize: 5, docRate: 5, presenceRate: 20, rampMs: 400, durationMs: 2500, drainMs: 500, roomPrefix: 'fan-' });
    assertTraffic(result, 10);
    const { doc, presence } = result.messages;
    assert.equal(doc.missing, 0, 'every document update was found in the merged updates');
    assert.equal(doc.received, doc.expected);
    assert.ok(doc.echoes > 0, 'a merged frame carries its senders\' own updates too');
    assert.ok(presence.superseded > 0, 'presence states were coalesced to the latest per user');
    assert.ok(presence.received + presence.superseded <= presence.expected);
    assert.equal(presence.latestMissing, 0, 'every receiver holds every member\'s last state');
  });
});

/** A minimal Hocuspocus-protocol client that applies everything to a Y.Doc (the provider's logic). */
function hocuspocusVerifier(url: string, room: string): { doc: Y.Doc; synced: () => boolean; close: () => void } {
  const doc = new Y.Doc();
  const ws = new WebSocket(url);
  let synced = false;
  const frame = (write: (e: encoding.Encoder) => void) => {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, room);
    write(e);
    return encoding.toUint8Array(e);
  };
  ws.on('open', () => {
    ws.send(
      frame((e) => {
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint(e, 0);
        encoding.writeVarString(e, '');
      }),
    );
    ws.send(
      frame((e) => {
        encoding.writeVarUint(e, 0);
        syncProtocol.writeSyncStep1(e, doc);
      }),
    );
  });
  ws.on('message', (data: Buffer) => {
    const d = decoding.createDecoder(new Uint8Array(data));
    decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    if (type !== 0 && type !== 4) return;
    const reply = encoding.createEncoder();
    encoding.writeVarString(reply, room);
    encoding.writeVarUint(reply, 0);
    const sub = syncProtocol.readSyncMessage(d, reply, doc, 'server');
    if (sub === 1) synced = true;
    if (encoding.length(reply) > room.length + 2) ws.send(encoding.toUint8Array(reply));
  });
  return { doc, synced: () => synced, close: () => ws.close() };
}

describe('loadtest: against Hocuspocus 3 (hocuspocus protocol)', function () {
  this.timeout(30000);
  let server: HocuspocusServer;
  let url: string;

  before(async () => {
    server = new HocuspocusServer({ port: 0, address: '127.0.0.1', quiet: true });
    await server.listen();
    url = `ws://127.0.0.1:${server.address.port}`;
  });

  after(async () => {
    await server.destroy();
  });

  it('8 users in 2 rooms: sends, receives, measures, and documents converge', async () => {
    const verifiers = ['hp-0', 'hp-1'].map((room) => ({ room, v: hocuspocusVerifier(url, room) }));
    await waitUntil(() => verifiers.every(({ v }) => v.synced()));
    const result = await runLoadTest({ url, protocol: 'hocuspocus', users: 8, roomSize: 4, rampMs: 400, durationMs: 2500, drainMs: 500, roomPrefix: 'hp-' });
    assertTraffic(result, 8);
    for (const { room, v } of verifiers) {
      const serverDoc = server.hocuspocus.documents.get(room);
      assert.ok(serverDoc, `server has no document for ${room}`);
      assertRoomContent(serverDoc, []);
      await waitUntil(() => Y.encodeStateVector(v.doc).toString() === Y.encodeStateVector(serverDoc).toString());
      assert.deepEqual(v.doc.getMap('shapes').toJSON(), serverDoc.getMap('shapes').toJSON());
      assert.equal(v.doc.getText('notes').toString(), serverDoc.getText('notes').toString());
      const authors = new Set(Object.values(v.doc.getMap('shapes').toJSON() as Record<string, { by: string }>).map((s) => s.by));
      assert.ok(authors.size >= 2, `expected shapes from several users, got ${[...authors]}`);
      v.close();
      v.doc.destroy();
    }
  });
});

describe('loadtest: the CLI against the relay fixture (child processes)', function () {
  this.timeout(40000);
  const dir = mkdtempSync(join(tmpdir(), 'loadtest-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs, stops by itself, prints a summary and writes JSON and an HTML report', async () => {
    // PORT=0: the relay binds a port the system knows is free and names it in its first line.
    const relay = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/relay.ts'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        relay.stdout!.on('data', (c: Buffer) => {
          const listening = /"event":"listening","port":(\d+)/.exec(c.toString());
          if (listening) resolve(Number(listening[1]));
        });
        relay.once('exit', () => reject(new Error('relay exited')));
      });
      const json = join(dir, 'out.json');
      const report = join(dir, 'report.html');
      const cli = spawn(
        process.execPath,
        ['--import', 'tsx', 'loadtest/cli.ts', '--url', `ws://127.0.0.1:${port}/collab`, '--users', '8', '--room-size', '4', '--duration', '2s', '--ramp', '500ms', '--drain', '500ms', '--json', json, '--report', report],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      cli.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      cli.stderr!.resume();
      const [code] = await once(cli, 'exit');
      assert.equal(code, 0, stdout);
      assert.match(stdout, /Fan-out latency/);
      assert.match(stdout, /opened 8\/8/);
      const result = JSON.parse(readFileSync(json, 'utf8')) as LoadTestResult;
      assertTraffic(result, 8);
      assert.equal(result.messages.doc.echoes, 0, 'the relay does not echo');
      assert.ok(existsSync(report));
      const html = readFileSync(report, 'utf8');
      assert.match(html, /<svg/);
      assert.match(html, /Fan-out latency/);
    } finally {
      relay.kill();
      await once(relay, 'exit').catch(() => undefined);
    }
  });
});
