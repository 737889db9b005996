import assert from 'node:assert/strict';
import { ClientPool } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, EventReader, frameworks, startDashboardServer, type DashboardServer, type ReceivedEvent } from './support.js';

interface RoomsEvent {
  updated: { name: string; loaded: boolean; connections: number; documentBytes: number }[];
  unloaded: string[];
}

const roomsEvent = (room: string, test: (change: RoomsEvent) => boolean) => (event: ReceivedEvent) =>
  event.event === 'rooms' && test(event.data as RoomsEvent) && ((event.data as RoomsEvent).updated.some((r) => r.name === room) || (event.data as RoomsEvent).unloaded.includes(room));

const connectionsOf = (change: RoomsEvent, room: string) => change.updated.find((r) => r.name === room)?.connections;

for (const framework of frameworks) {
  describe(`GET /api/events (${framework})`, () => {
    let app: DashboardServer;
    const clients = new ClientPool();
    const readers: EventReader[] = [];
    const open = (headers: Record<string, string> = {}) => {
      const reader = new EventReader(`${app.origin}/admin/api/events`, { ...bearer(), ...headers });
      readers.push(reader);
      return reader;
    };

    before(async () => {
      app = await startDashboardServer(framework, { dashboard: { sampleIntervalMs: 50, eventStreamKeepAliveMs: 100 } });
    });
    after(async () => {
      for (const reader of readers) reader.close();
      clients.destroyAll();
      await app.close();
    });

    it('answers 401 to a stream without the token', async () => {
      const reader = new EventReader(`${app.origin}/admin/api/events`, {});
      readers.push(reader);
      await reader.until(() => reader.status !== 0, 'a status');
      assert.equal(reader.status, 401);
    });

    it('opens with the chart history, the totals and a ready event carrying an id', async () => {
      const reader = open();
      const ready = await reader.next((event) => event.event === 'ready', 'ready');
      assert.equal(reader.status, 200);
      assert.deepEqual(
        reader.events.slice(0, 3).map((event) => event.event),
        ['history', 'totals', 'ready'],
      );
      assert.ok(Array.isArray((reader.events[0].data as { samples: unknown[] }).samples));
      assert.equal((reader.events[1].data as { nodeId: string }).nodeId, app.symphony.nodeId);
      assert.match(ready.id ?? '', /^[0-9a-f]+-\d+$/);
      reader.close();
    });

    it('reports a room loading, its connection count changing and the room unloading', async () => {
      const reader = open();
      await reader.next((event) => event.event === 'ready', 'ready');
      const first = clients.open(app.collabUrl, 'watched', { params: { token: 'user:ada' } });
      await first.synced();
      await reader.next(roomsEvent('watched', (change) => connectionsOf(change, 'watched') === 1), 'watched with 1 connection');
      const second = clients.open(app.collabUrl, 'watched', { params: { token: 'user:bob' } });
      await second.synced();
      await reader.next(roomsEvent('watched', (change) => connectionsOf(change, 'watched') === 2), 'watched with 2 connections');
      second.destroy();
      await reader.next(roomsEvent('watched', (change) => connectionsOf(change, 'watched') === 1), 'watched back to 1 connection', 5_000, reader.events.length);
      first.destroy();
      await reader.next(roomsEvent('watched', (change) => change.unloaded.includes('watched')), 'watched unloaded');
      reader.close();
    });

    it('sends totals periodically, and heartbeat comments', async () => {
      const reader = open();
      await reader.next((event) => event.event === 'ready', 'ready');
      const before = reader.events.filter((event) => event.event === 'totals').length;
      await reader.until(() => reader.events.filter((event) => event.event === 'totals').length >= before + 2, 'two more totals');
      await reader.until(() => reader.comments.includes('heartbeat'), 'a heartbeat');
      const totals = reader.events.filter((event) => event.event === 'totals').at(-1)?.data as { messagesPerSecond: { in: number } };
      assert.equal(typeof totals.messagesPerSecond.in, 'number');
      reader.close();
    });

    it('replays what a client missed when it reconnects with Last-Event-ID', async () => {
      const first = open();
      const ready = await first.next((event) => event.event === 'ready', 'ready');
      first.close();
      await waitFor(() => app.dashboard.stats().eventStreamClients === 0, 'the stream is closed on the server');
      const client = clients.open(app.collabUrl, 'while-away');
      await client.synced();
      // The change is sampled while no stream is open, and kept for the reconnect.
      await waitFor(() => app.symphony.room('while-away') !== undefined, 'room loaded');
      await new Promise<void>((resolve) => {
        const stop = app.dashboard['sampler'].onSample(() => {
          stop();
          resolve();
        });
      });
      const again = open({ 'last-event-id': ready.id as string });
      const replayed = await again.next(roomsEvent('while-away', (change) => connectionsOf(change, 'while-away') === 1), 'the missed rooms event');
      assert.ok(replayed.id !== undefined && replayed.id !== ready.id);
      assert.equal(
        again.events.some((event) => event.event === 'ready' || event.event === 'reset'),
        false,
      );
      client.destroy();
      again.close();
    });

    it('tells a client whose Last-Event-ID cannot be replayed to reload', async () => {
      const reader = open({ 'last-event-id': 'deadbeef0000-42' });
      const reset = await reader.next((event) => event.event === 'reset', 'reset');
      assert.match(reset.id ?? '', /^[0-9a-f]+-\d+$/);
      reader.close();
    });

    it('cleans up a client that went away', async () => {
      const reader = open();
      await reader.next((event) => event.event === 'ready', 'ready');
      assert.ok(app.dashboard.stats().eventStreamClients >= 1);
      for (const other of readers) other.close();
      await waitFor(() => app.dashboard.stats().eventStreamClients === 0, 'no stream left open');
    });
  });
}
