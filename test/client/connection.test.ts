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
        if (token === 'forbidden') throw new AuthenticationError('not a member of this room', { status: 403 });
        if (token?.startsWith('short-')) return { userId: 'alice', expiresAt: Date.now() + 400 };
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

    it('asks the token function again after each 4401 refusal, reporting auth-expired, until the token is accepted', async () => {
      validToken = 'token-late';
      let calls = 0;
      const room = clients.open(server.url, { token: () => (++calls < 3 ? 'token-early' : 'token-late') }).enterRoom(uniqueRoom('refused-upgrade'));
      const errors = collectErrors(room);
      await waitForStatus(room, 'synced');
      assert.deepEqual(tokensSeen, ['token-early', 'token-early', 'token-late']);
      assert.deepEqual(
        errors.map((error) => [error.code, error.closeCode, error.retrying]),
        [
          ['auth-expired', 4401, true],
          ['auth-expired', 4401, true],
        ],
      );
    });

    it('stops with auth-refused on 4403 (forbidden) and makes no further attempt', async () => {
      const room = clients.open(server.url, { token: () => 'forbidden' }).enterRoom(uniqueRoom('forbidden'));
      const errors = collectErrors(room);
      await waitFor(() => room.error !== null, 'the room stops');
      assert.equal(room.error?.code, 'auth-refused');
      assert.equal(room.error?.closeCode, 4403);
      assert.equal(room.status, 'offline');
      // A retry would come within the longest back-off (200 ms here); none comes in three times that.
      await assert.rejects(waitFor(() => tokensSeen.length > 1, 'a second attempt', 600), /timed out/);
      assert.deepEqual(tokensSeen, ['forbidden']);
      assert.deepEqual(errors.map((error) => [error.code, error.retrying]), [['auth-refused', false]]);
    });

    it('stops with auth-refused when a static token is refused with 4401: a retry would send the same token', async () => {
      const room = clients.open(server.url, { token: 'token-wrong' }).enterRoom(uniqueRoom('static-refused'));
      await waitFor(() => room.error !== null, 'the room stops');
      assert.equal(room.error?.code, 'auth-refused');
      assert.equal(room.error?.closeCode, 4401);
      assert.deepEqual(tokensSeen, ['token-wrong']);
    });

    it('fetches a fresh token and reconnects when the server revokes the connection (disconnect, 4401), and authenticate decides again', async () => {
      let current = 'token-1';
      const room = clients.open(server.url, { token: () => current }).enterRoom(uniqueRoom('revoked'));
      const errors = collectErrors(room);
      await room.whenSynced();
      validToken = current = 'token-2';
      const statuses = recordStatuses(room);
      assert.equal(server.symphony.disconnect({ userId: 'alice', room: room.name }), 1);
      await waitFor(() => statuses.includes('offline') && room.status === 'synced', 'the room reconnects');
      assert.deepEqual(tokensSeen, ['token-1', 'token-2']);
      assert.deepEqual(errors.map((error) => [error.code, error.closeCode, error.retrying]), [['auth-expired', 4401, true]]);
      assert.equal(room.error, null);
    });

    it('reconnects with a fresh token when its credentials expire (expiresAt)', async () => {
      let issued = 0;
      const room = clients.open(server.url, { token: () => `short-${++issued}` }).enterRoom(uniqueRoom('expiring'));
      await room.whenSynced();
      await waitFor(() => tokensSeen.includes('short-2') && room.status === 'synced', 'the room reconnected with the next token');
      assert.equal(room.error, null);
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

    it('reconnects with back-off (and a fresh token) on 4401', () => {
      assert.deepEqual(decideAfterClose(4401).reconnect, 'backoff');
      assert.equal(decideAfterClose(4401).error?.code, 'auth-expired');
    });

    it('stops on a forbidden room (4403), a too large message (1009) or document (4413), a deleted room (4410), and other 44xx codes', () => {
      assert.deepEqual(
        [4403, 1009, 4413, 4410, 4404].map((code) => [decideAfterClose(code).reconnect, decideAfterClose(code).error?.code]),
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
