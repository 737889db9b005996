import assert from 'node:assert/strict';
import { ClientPool, rawClient } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

describe('revocation', () => {
  const clients = new ClientPool();
  after(() => clients.destroyAll());

  describe('symphony.disconnect()', () => {
    let server: RunningSymphony;
    before(async () => {
      server = await startSymphony({ authenticate: ({ token }) => ({ userId: token ?? 'nobody' }) });
    });
    after(() => server.close());

    it('closes the connections of one user in one room with 4401 and returns how many it closed', async () => {
      const alice = await rawClient(`${server.url}/plans?token=alice`);
      const aliceElsewhere = await rawClient(`${server.url}/notes?token=alice`);
      const bob = await rawClient(`${server.url}/plans?token=bob`);
      await waitFor(() => server.symphony.connections('plans').length === 2, 'both joined');

      assert.equal(server.symphony.disconnect({ room: 'plans', userId: 'alice' }), 1);
      assert.deepEqual(await alice.closed, { code: 4401, reason: 'credentials revoked' });
      await waitFor(() => server.symphony.connections('plans').length === 1, 'alice left');
      assert.equal(server.symphony.connections('plans')[0].userId, 'bob');
      assert.equal(server.symphony.connections('notes').length, 1, 'alice stays in the other room');
      aliceElsewhere.socket.close();
      bob.socket.close();
    });

    it('closes one connection by id, with the code and reason given', async () => {
      const first = await rawClient(`${server.url}/by-id?token=carol`);
      const second = await rawClient(`${server.url}/by-id?token=carol`);
      await waitFor(() => server.symphony.connections('by-id').length === 2, 'both joined');
      const [target] = server.symphony.connections('by-id');
      assert.equal(server.symphony.disconnect({ connectionId: target.id }, { code: 4403, reason: 'removed from the project' }), 1);
      const closed = await Promise.race([first.closed, second.closed]);
      assert.deepEqual(closed, { code: 4403, reason: 'removed from the project' });
      await waitFor(() => server.symphony.connections('by-id').length === 1, 'one is left');
      assert.notEqual(server.symphony.connections('by-id')[0].id, target.id);
      first.socket.close();
      second.socket.close();
    });

    it('closes every connection of a user across rooms, and nothing when nothing matches', async () => {
      const one = await rawClient(`${server.url}/a?token=dave`);
      const two = await rawClient(`${server.url}/b?token=dave`);
      await waitFor(() => server.symphony.connections('b').length === 1, 'both joined');
      assert.equal(server.symphony.disconnect({ userId: 'nobody-here' }), 0);
      assert.equal(server.symphony.disconnect({ userId: 'dave' }), 2);
      assert.equal((await one.closed).code, 4401);
      assert.equal((await two.closed).code, 4401);
    });

    it('throws a RangeError for a close code a server may not send', () => {
      assert.throws(() => server.symphony.disconnect({}, { code: 1006 }), RangeError);
      assert.throws(() => server.symphony.disconnect({}, { code: 4401, reason: 'x'.repeat(124) }), RangeError);
    });
  });

  describe('expiresAt', () => {
    it('closes a connection with 4401 when its credentials expire, and leaves one without expiry open', async () => {
      const lifetimeMs = 600;
      const server = await startSymphony({
        authenticate: ({ token }) => ({ userId: 'erin', expiresAt: token === 'short' ? Date.now() + lifetimeMs : undefined }),
      });
      try {
        const opened = Date.now();
        const shortLived = await rawClient(`${server.url}/expiring?token=short`);
        const lasting = await rawClient(`${server.url}/expiring?token=long`);
        assert.deepEqual(await shortLived.closed, { code: 4401, reason: 'credentials expired' });
        const livedMs = Date.now() - opened;
        assert.ok(livedMs >= lifetimeMs - 50 && livedMs < lifetimeMs + 2_000, `closed after ${livedMs} ms`);
        assert.equal(lasting.socket.readyState, lasting.socket.OPEN, 'a connection without expiry stays');
        lasting.socket.close();
      } finally {
        await server.close();
      }
    });

    it('expires many connections on one shared timer', async () => {
      const server = await startSymphony({ authenticate: () => ({ userId: 'many', expiresAt: Date.now() + 300 }) });
      try {
        const timersBefore = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
        const sockets = await Promise.all(Array.from({ length: 50 }, () => rawClient(`${server.url}/many`)));
        const timersWhileOpen = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
        assert.ok(timersWhileOpen - timersBefore <= 2, `${timersWhileOpen - timersBefore} timers for 50 expiring connections`);
        const codes = await Promise.all(sockets.map((socket) => socket.closed.then(({ code }) => code)));
        assert.deepEqual(new Set(codes), new Set([4401]));
      } finally {
        await server.close();
      }
    });
  });
});
