import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { CloseCode } from '../../lib/index.js';
import { ClientPool, rawClient, upgradeStatus } from '../support/clients.js';
import { updateMessage } from '../support/messages.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** A bystander in the same room keeps working after another connection hit a limit. */
async function assertBystanderUnaffected(server: RunningSymphony, clients: ClientPool, room: string): Promise<void> {
  const writer = clients.open(server.url, room);
  const bystander = clients.open(server.url, room);
  await Promise.all([writer.synced(), bystander.synced()]);
  const marker = `after-${Math.random()}`;
  writer.doc.getMap('check').set(marker, true);
  await waitFor(() => bystander.doc.getMap('check').get(marker) === true, 'a bystander still receives updates');
}

describe('limits', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();
  const closes: { code: number; reason: string }[] = [];

  before(async () => {
    server = await startSymphony({
      limits: {
        maxMessageBytes: 4_096,
        maxDocumentBytes: 8_192,
        maxConnectionsPerRoom: 3,
        maxBufferedBytes: 64 * 1024,
        pingIntervalMs: 100,
        maxRoomNameLength: 32,
      },
    });
    server.symphony.events.on('connectionClosed', (_connection, close) => closes.push(close));
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('closes a connection with 1009 when a message exceeds maxMessageBytes', async () => {
    const client = await rawClient(`${server.url}/big`);
    client.socket.send(updateMessage((doc) => doc.getText('t').insert(0, 'x'.repeat(5_000))));
    assert.equal((await client.closed).code, CloseCode.messageTooBig);
    await assertBystanderUnaffected(server, clients, 'big');
  });

  it('refuses an update that would grow the document beyond maxDocumentBytes, with 4413', async () => {
    const client = await rawClient(`${server.url}/huge`);
    for (let i = 0; i < 3; i++) client.socket.send(updateMessage((doc) => doc.getText(`t${i}`).insert(0, 'y'.repeat(3_500))));
    const { code } = await client.closed;
    assert.equal(code, CloseCode.documentTooLarge);
    assert.ok(server.symphony.room('huge')!.documentBytes <= 8_192, 'the document stayed within its limit');
  });

  it('closes the connection beyond maxConnectionsPerRoom with 4429 (room full)', async () => {
    const first = await rawClient(`${server.url}/crowded`);
    const second = await rawClient(`${server.url}/crowded`);
    const third = await rawClient(`${server.url}/crowded`);
    const fourth = await rawClient(`${server.url}/crowded`);
    assert.equal((await fourth.closed).code, CloseCode.roomFull);
    assert.equal(server.symphony.connections('crowded').length, 3);
    for (const client of [first, second, third]) client.socket.close();
  });

  it('closes a client that reads too slowly with 1013 instead of buffering without bound', async () => {
    const slow = await rawClient(`${server.url}/flood`);
    const slowId = server.symphony.connections('flood')[0].id;
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    // Each change replaces a 30 KB text: the document stays small, the traffic does not.
    for (let i = 0; i < 1_000 && server.symphony.connections('flood').some((c) => c.id === slowId); i++) {
      await server.symphony.change('flood', (doc) => {
        const bulk = doc.getText('bulk');
        bulk.delete(0, bulk.length);
        bulk.insert(0, String(i).padEnd(30_000, 'w'));
      });
    }
    await waitFor(() => closes.some((close) => close.code === CloseCode.tryAgainLater), 'the slow client was closed with 1013');
    await waitFor(() => !server.symphony.connections('flood').some((c) => c.id === slowId), 'the slow client is gone');
    slow.socket.terminate();
  });

  it('terminates a connection that stops answering heartbeat pings', async () => {
    const silent = new WebSocket(`${server.url}/heartbeat`, { autoPong: false });
    const closed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    await new Promise((resolve) => silent.once('open', resolve));
    const healthy = clients.open(server.url, 'heartbeat');
    await healthy.synced();
    await closed;
    await waitFor(() => server.symphony.connections('heartbeat').length === 1, 'only the healthy client remains');
  });

  it('answers 400 to room names that are too long, empty, not UTF-8 or hold control characters', async () => {
    for (const name of ['r'.repeat(33), '', '%E0%A4%A', 'a%00b', 'tab%09']) {
      assert.equal(await upgradeStatus(`${server.url}/${name}`), 400, `room name ${JSON.stringify(name)}`);
    }
  });

  it('answers 400 to room names holding invisible format characters (bidi overrides, zero-width joiners)', async () => {
    // "evil\u202Etxt.exe" shows as "evilexe.txt"; "a\u200Db" looks exactly like "ab".
    for (const name of ['evil%E2%80%AEtxt.exe', 'a%E2%80%8Db', '%EF%BB%BFboard']) {
      assert.equal(await upgradeStatus(`${server.url}/${name}`), 400, `room name ${decodeURIComponent(name)}`);
    }
    assert.equal(server.symphony.rooms().length, server.symphony.rooms().filter((room) => !/\p{Cf}/u.test(room.name)).length);
  });

  it('brings a name written in decomposed form (NFD) to the same room as its composed form (NFC)', async () => {
    const composed = clients.open(server.url, 'caf%C3%A9'); // "café", é as one code point
    const decomposed = clients.open(server.url, 'cafe%CC%81'); // "café", e + combining acute accent
    await Promise.all([composed.synced(), decomposed.synced()]);
    decomposed.doc.getMap('m').set('from', 'nfd');
    await waitFor(() => composed.doc.getMap('m').get('from') === 'nfd', 'the NFC client sees the NFD client’s edit');
    assert.equal(server.symphony.connections('caf\u00e9').length, 2);
    await server.symphony.change('cafe\u0301', (doc) => doc.getMap('m').set('from', 'server'));
    await waitFor(() => composed.doc.getMap('m').get('from') === 'server', 'host code naming the room in NFD changes the same room');
  });

  it('accepts names with slashes, dots, percent-encoded characters and unicode', async () => {
    for (const [path, name] of [
      ['..%2F..%2Fetc', '../../etc'],
      ['team/board', 'team/board'],
      ['%F0%9F%8E%B5 music', '🎵 music'],
    ]) {
      const client = clients.open(server.url, path);
      await client.synced();
      assert.equal(server.symphony.connections(name).length, 1, name);
    }
  });

  it('leaves upgrades for other paths to the host app', async () => {
    const host = createServer();
    const hostSockets = new WebSocketServer({ noServer: true });
    host.on('upgrade', (request, socket, head) => {
      if (request.url === '/host-socket') hostSockets.handleUpgrade(request, socket, head, (ws) => ws.send('hello from the host'));
    });
    const other = await startSymphony({}, host);
    try {
      const socket = new WebSocket(`ws://127.0.0.1:${other.port}/host-socket`);
      const message = await new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
      assert.equal(message, 'hello from the host');
      socket.close();
    } finally {
      hostSockets.close();
      await other.close();
    }
  });
});
