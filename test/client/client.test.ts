import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient } from '../../client/index.js';
import { waitFor } from '../support/wait-for.js';
import { ClientPool, recordStatuses, RestartableServer, uniqueRoom, waitForStatus } from './harness.js';

describe('client SDK: createClient and rooms', () => {
  const server = new RestartableServer();
  const clients = new ClientPool();

  before(() => server.start());
  afterEach(() => clients.destroyAll());
  after(() => server.stop());

  it('throws a TypeError naming the option when the URL is not a WebSocket URL', () => {
    assert.throws(() => createClient({ url: 'http://example.com/collab', WebSocket: WebSocket as unknown as typeof globalThis.WebSocket }), {
      name: 'TypeError',
      message: /"url" must be a ws:\/\/ or wss:\/\/ URL/,
    });
  });

  it('throws a TypeError when a timing option is negative', () => {
    assert.throws(() => clients.open(server.url, { presenceThrottleMs: -1 }), { name: 'TypeError', message: /"presenceThrottleMs"/ });
  });

  it('goes through connecting, connected and synced, and shares changes with another user through the server', async () => {
    const room = uniqueRoom('shared');
    const alice = clients.open(server.url).enterRoom(room);
    const statuses = recordStatuses(alice);
    const bob = clients.open(server.url).enterRoom(room);
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    assert.deepEqual(statuses, ['connecting', 'connected', 'synced']);

    alice.transact(() => alice.map<string>('settings').set('title', 'Roadmap'));
    bob.text('notes').insert(0, 'hello');
    await waitFor(() => bob.map('settings').get('title') === 'Roadmap', 'Bob sees Alice\'s title');
    await waitFor(() => alice.text('notes').toString() === 'hello', 'Alice sees Bob\'s notes');
  });

  it('reaches rooms whose names need percent-encoding in a URL', async () => {
    const room = uniqueRoom('board #1 / Q3 ?draft');
    const alice = clients.open(server.url).enterRoom(room);
    await alice.whenSynced();
    alice.array<number>('values').push([1, 2, 3]);
    await waitFor(() => server.symphony.room(room) !== undefined, 'the server loaded the room under its exact name');
    await waitFor(async () => JSON.stringify((await server.symphony.toJSON(room))?.values) === '[1,2,3]', 'the server has the values');
  });

  it('refuses to enter a room twice, and lets it be entered again after leave()', async () => {
    const client = clients.open(server.url);
    const room = uniqueRoom('twice');
    const first = client.enterRoom(room);
    assert.throws(() => client.enterRoom(room), /already entered/);
    assert.equal(client.getRoom(room), first);
    await first.leave();
    assert.equal(first.status, 'offline');
    assert.equal(client.getRoom(room), undefined);
    const second = client.enterRoom(room);
    await waitForStatus(second, 'synced');
  });
});
