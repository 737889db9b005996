import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { ClosedError, InvalidRoomNameError, MemoryStore } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

describe('the server-side document API', () => {
  let server: RunningSymphony;
  let store: MemoryStore;
  const clients = new ClientPool();

  beforeEach(async () => {
    store = new MemoryStore();
    server = await startSymphony({ store, unloadGraceMs: 20 });
  });

  afterEach(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('applies a change from host code, relays it to clients and persists it', async () => {
    const alice = clients.open(server.url, 'board');
    await alice.synced();
    await server.symphony.change('board', (doc) => doc.getMap('shapes').set('welcome', 'note'), { reason: 'seed' });
    await waitFor(() => alice.doc.getMap('shapes').get('welcome') === 'note', 'the client receives the change');
    clients.destroyAll();
    await waitFor(() => server.symphony.room('board') === undefined, 'the room unloads');
    const stored = new Y.Doc();
    Y.applyUpdate(stored, (await store.load('board'))!);
    assert.equal(stored.getMap('shapes').get('welcome'), 'note');
  });

  it('changes a room nobody is connected to, loading and saving it', async () => {
    await server.symphony.change('cold', (doc) => doc.getArray('a').push([1]));
    await waitFor(() => server.symphony.room('cold') === undefined, 'the room unloads again');
    assert.deepEqual(await server.symphony.toJSON('cold'), { a: [1] });
  });

  it('reads a room’s state from memory when loaded and from the store otherwise', async () => {
    const alice = clients.open(server.url, 'state');
    await alice.synced();
    alice.doc.getText('t').insert(0, 'live');
    await waitFor(() => server.symphony.room('state')?.unsaved === true, 'the server has the edit');
    const live = new Y.Doc();
    Y.applyUpdate(live, (await server.symphony.readState('state'))!);
    assert.equal(live.getText('t').toString(), 'live');
    assert.equal(await server.symphony.readState('never-created'), null);
  });

  it('renders top-level types it was never told about as JSON: maps, arrays, text and XML', async () => {
    const alice = clients.open(server.url, 'mixed');
    await alice.synced();
    alice.doc.transact(() => {
      const shape = new Y.Map();
      shape.set('type', 'rect');
      shape.set('x', 10);
      alice.doc.getMap('shapes').set('s1', shape);
      alice.doc.getArray('order').push(['s1']);
      alice.doc.getText('title').insert(0, 'Sprint plan');
      const paragraph = new Y.XmlElement('paragraph');
      const text = new Y.XmlText();
      text.insert(0, 'Hello ');
      text.insert(6, 'world', { bold: true });
      paragraph.insert(0, [text]);
      alice.doc.getXmlFragment('prosemirror').insert(0, [paragraph]);
    });
    await waitFor(() => server.symphony.room('mixed')?.unsaved === true, 'the server has the edit');
    assert.deepEqual(await server.symphony.toJSON('mixed'), {
      shapes: { s1: { type: 'rect', x: 10 } },
      order: ['s1'],
      title: 'Sprint plan',
      prosemirror: { children: [{ nodeName: 'paragraph', attributes: {}, children: [{ text: [{ insert: 'Hello ' }, { insert: 'world', attributes: { bold: true } }] }] }] },
    });
  });

  it('lists loaded rooms with their connections and sizes', async () => {
    const alice = clients.open(server.url, 'listed');
    await alice.synced();
    alice.doc.getMap('m').set('k', 'v');
    await waitFor(() => (server.symphony.room('listed')?.documentBytes ?? 0) > 0, 'the size grew');
    const [room] = server.symphony.rooms();
    assert.equal(room.name, 'listed');
    assert.equal(room.connections, 1);
    assert.equal(server.symphony.stats().connections, 1);
    assert.ok(server.symphony.stats().cpu.user > 0, 'stats report the process CPU time');
  });

  it('rejects invalid room names and changes after close with typed errors', async () => {
    await assert.rejects(server.symphony.change('', () => undefined), InvalidRoomNameError);
    await server.symphony.close();
    await assert.rejects(server.symphony.change('late', () => undefined), ClosedError);
  });
});
