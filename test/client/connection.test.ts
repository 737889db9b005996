import assert from 'node:assert/strict';
import { decideAfterClose } from '../../client/close-codes.js';
import type { SymphonyClientError } from '../../client/index.js';
import { AuthenticationError } from '../../lib/index.js';
import { waitFor } from '../support/wait-for.js';
import { ClientPool, recordStatuses, RestartableServer, uniqueRoom, waitForStatus } from './harness.js';

function collectErrors(room: { on(event: 'error', callback: (error: SymphonyClientError) => void): () => void }): SymphonyClientError[] {
  const errors: SymphonyClientError[] = [];
  room.on('error', (error) => errors.push(error));
  return errors;
}

describe('client SDK: connection status, reconnection and errors', () => {
  const clients = new ClientPool();
  afterEach(() => clients.destroyAll());

  describe('with a server that restarts', () => {
    const server = new RestartableServer();
    before(() => server.start());
    after(() => server.stop());

    it('goes offline when the server goes away and back to synced when it returns, sending what changed meanwhile', async () => {
      const room = uniqueRoom('restart');
      const alice = clients.open(server.url).enterRoom(room);
      await alice.whenSynced();
      const statuses = recordStatuses(alice);

      await server.stop();
      await waitForStatus(alice, 'offline');
      alice.map('board').set('written', 'while the server was down');

      await server.start();
      await waitForStatus(alice, 'synced');
      assert.deepEqual(statuses, ['synced', 'offline', 'connected', 'synced']);
      const bob = clients.open(server.url).enterRoom(room);
      await bob.whenSynced();
      await waitFor(() => bob.map('board').get('written') === 'while the server was down', 'Bob receives the change made offline');
    });
  });

  describe('with tokens', () => {
    let validToken = 'token-1';
    const tokensSeen: (string | null)[] = [];
    const server = new RestartableServer({
      authenticate: ({ token }) => {
        tokensSeen.push(token);
        if (token !== validToken) throw new AuthenticationError('expired token');
        return { userId: 'alice' };
      },
    });
    before(() => server.start());
    after(() => server.stop());
    beforeEach(() => {
      tokensSeen.length = 0;
      validToken = 'token-1';
    });

    it('sends a static token as the `token` query parameter', async () => {
      const room = clients.open(server.url, { token: 'token-1' }).enterRoom(uniqueRoom('static'));
      await room.whenSynced();
      assert.deepEqual(tokensSeen, ['token-1']);
    });

    it('calls the token function before every connection, so a reconnect carries a fresh token', async () => {
      let current = 'token-1';
      const room = clients.open(server.url, { token: async () => current }).enterRoom(uniqueRoom('refresh'));
      await room.whenSynced();

      // token-1 expires while the server restarts; only the token function knows the new one.
      await server.stop();
      validToken = current = 'token-2';
      await waitForStatus(room, 'offline');
      await server.start();
      await waitForStatus(room, 'synced');
      assert.equal(tokensSeen[0], 'token-1');
      assert.equal(tokensSeen.at(-1), 'token-2');
      assert.equal(room.error, null);
    });

    it('keeps retrying a refused upgrade, which a browser cannot tell from a network error, until the token is accepted', async () => {
      validToken = 'token-late';
      let calls = 0;
      const room = clients.open(server.url, { token: () => (++calls < 3 ? 'token-early' : 'token-late') }).enterRoom(uniqueRoom('refused-upgrade'));
      const errors = collectErrors(room);
      await waitForStatus(room, 'synced');
      assert.deepEqual(tokensSeen, ['token-early', 'token-early', 'token-late']);
      assert.deepEqual(errors, []);
    });

    it('stops with an auth-refused error, without connecting, when the token function returns null', async () => {
      const room = clients.open(server.url, { token: () => null }).enterRoom(uniqueRoom('signed-out'));
      const errors = collectErrors(room);
      await waitFor(() => room.error !== null, 'the room stops');
      await assert.rejects(room.whenSynced(), { code: 'auth-refused' });
      assert.equal(room.status, 'offline');
      assert.deepEqual(
        errors.map((error) => [error.code, error.retrying]),
        [['auth-refused', false]],
      );
      assert.deepEqual(tokensSeen, []);
    });

    it('reconnects after an auth-refused stop once reconnect() is called and the token function has a token again', async () => {
      let signedIn = false;
      const room = clients.open(server.url, { token: () => (signedIn ? 'token-1' : null) }).enterRoom(uniqueRoom('sign-in'));
      await waitFor(() => room.error?.code === 'auth-refused', 'the room stops');
      signedIn = true;
      room.reconnect();
      await waitForStatus(room, 'synced');
      assert.equal(room.error, null);
    });

    it('reports token-unavailable once and retries while the token function throws', async () => {
      let calls = 0;
      const room = clients
        .open(server.url, {
          token: async () => {
            if (++calls < 3) throw new Error('token endpoint unreachable');
            return 'token-1';
          },
        })
        .enterRoom(uniqueRoom('token-fails'));
      const errors = collectErrors(room);
      await waitForStatus(room, 'synced');
      assert.deepEqual(
        errors.map((error) => [error.code, error.retrying, (error.cause as Error).message]),
        [['token-unavailable', true, 'token endpoint unreachable']],
      );
    });
  });

  describe('with server limits', () => {
    const server = new RestartableServer({ limits: { maxConnectionsPerRoom: 1, maxMessageBytes: 16_384, maxDocumentBytes: 40_000 } });
    before(() => server.start());
    after(() => server.stop());

    it('reports room-full (4429) and keeps retrying until a seat is free', async () => {
      const room = uniqueRoom('full');
      const first = clients.open(server.url).enterRoom(room);
      await first.whenSynced();
      const second = clients.open(server.url).enterRoom(room);
      const errors = collectErrors(second);
      await waitFor(() => errors.length > 0, 'the second user hears the room is full');
      assert.deepEqual([errors[0].code, errors[0].closeCode, errors[0].retrying], ['room-full', 4429, true]);
      assert.equal(second.error, null);

      await first.leave();
      await waitForStatus(second, 'synced');
    });

    it('stops with message-too-large (1009) instead of resending the same message forever', async () => {
      const room = clients.open(server.url).enterRoom(uniqueRoom('big-message'));
      await room.whenSynced();
      const errors = collectErrors(room);
      room.text('body').insert(0, 'x'.repeat(20_000));
      await waitFor(() => room.error !== null, 'the room stops');
      assert.deepEqual([room.error!.code, room.error!.closeCode, room.error!.retrying], ['message-too-large', 1009, false]);
      assert.deepEqual(
        errors.map((error) => error.code),
        ['message-too-large'],
      );
      assert.equal(room.status, 'offline');
      assert.equal(room.text('body').length, 20_000, 'the local change is kept');
    });

    it('stops with document-too-large (4413) when the document reached its limit', async () => {
      const room = clients.open(server.url).enterRoom(uniqueRoom('big-document'));
      await room.whenSynced();
      // Four updates that each fit in a message, but not together in the document.
      for (let i = 0; i < 4; i++) room.text('body').insert(0, String(i).repeat(12_000));
      await waitFor(() => room.error !== null, 'the room stops');
      assert.deepEqual([room.error!.code, room.error!.closeCode, room.error!.retrying], ['document-too-large', 4413, false]);
    });
  });

  describe('close codes', () => {
    it('reconnects at once after a server restart (1012) and with back-off after an abnormal close (1006)', () => {
      assert.deepEqual(decideAfterClose(1012), { reconnect: 'now', error: null });
      assert.deepEqual(decideAfterClose(1006), { reconnect: 'backoff', error: null });
      assert.deepEqual(decideAfterClose(null), { reconnect: 'backoff', error: null });
    });

    it('stops on revoked credentials (4401), a too large message (1009) or document (4413), a deleted room (4410), and other 44xx codes', () => {
      assert.deepEqual(
        [4401, 1009, 4413, 4410, 4404].map((code) => [decideAfterClose(code).reconnect, decideAfterClose(code).error?.code]),
        [
          ['never', 'auth-refused'],
          ['never', 'message-too-large'],
          ['never', 'document-too-large'],
          ['never', 'room-deleted'],
          ['never', 'refused'],
        ],
      );
    });

    it('retries a full room (4429) with back-off', () => {
      assert.deepEqual(decideAfterClose(4429).reconnect, 'backoff');
      assert.equal(decideAfterClose(4429).error?.code, 'room-full');
    });
  });
});
