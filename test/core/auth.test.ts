import assert from 'node:assert/strict';
import { AuthenticationError, createJsonLogger } from '../../lib/index.js';
import { ClientPool, rawClient, upgradeStatus } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

describe('authentication', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();
  const seen: { room: string; token: string | null }[] = [];

  before(async () => {
    server = await startSymphony({
      authenticate: ({ room, token }) => {
        seen.push({ room, token });
        if (token === 'editor') return { userId: 'eve' };
        if (token === 'viewer') return { userId: 'victor', readOnly: true };
        if (token === 'banned') throw new AuthenticationError('banned', { status: 403 });
        throw new AuthenticationError('unknown token');
      },
    });
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('passes the room and the token query parameter to authenticate', async () => {
    const client = clients.open(server.url, 'doc 1', { params: { token: 'editor' } });
    await client.synced();
    assert.deepEqual(seen.at(-1), { room: 'doc 1', token: 'editor' });
    assert.equal(server.symphony.connections('doc 1')[0].userId, 'eve');
  });

  it('closes the socket at once with 4401 and the error message, without loading the room, when authenticate rejects', async () => {
    const refused = await rawClient(`${server.url}/private?token=wrong`);
    assert.deepEqual(await refused.closed, { code: 4401, reason: 'unknown token' });
    const anonymous = await rawClient(`${server.url}/private`);
    assert.deepEqual(await anonymous.closed, { code: 4401, reason: 'unknown token' });
    assert.deepEqual(refused.received, [], 'nothing of the room was sent');
    assert.equal(server.symphony.room('private'), undefined, 'the room was not even loaded');
  });

  it('closes with 4403 when authenticate rejects with status 403', async () => {
    const refused = await rawClient(`${server.url}/private?token=banned`);
    assert.deepEqual(await refused.closed, { code: 4403, reason: 'banned' });
  });

  it('lets a stock y-websocket provider see the refusal and stop, instead of retrying a network error', async () => {
    const client = clients.open(server.url, 'private', { params: { token: 'banned' } });
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => client.provider.once('closed', resolve));
    assert.deepEqual(closed, { code: 4403, reason: 'banned' });
    assert.equal(client.provider.shouldConnect, false, 'the provider stopped reconnecting');
  });

  it('counts each refusal and logs it at info level without a stack', async () => {
    const lines: Record<string, unknown>[] = [];
    const logged = await startSymphony({
      logger: createJsonLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
      authenticate: () => {
        throw new AuthenticationError('expired token');
      },
    });
    try {
      const refused = await rawClient(`${logged.url}/room`);
      await refused.closed;
      assert.equal(logged.symphony.stats().connectionsRejected, 1);
      const refusal = lines.find((line) => line.msg === 'connection refused by authenticate');
      assert.ok(refusal, 'the refusal was logged');
      assert.equal(refusal.level, 30);
      assert.equal(JSON.stringify(refusal).includes('stack'), false, 'no stack trace');
      assert.equal(refusal.reason, 'expired token');
    } finally {
      await logged.close();
    }
  });

  describe('with refuseWithCloseCode: false', () => {
    let plain: RunningSymphony;
    before(async () => {
      plain = await startSymphony({
        refuseWithCloseCode: false,
        authenticate: ({ token }) => {
          if (token === 'banned') throw new AuthenticationError('banned', { status: 403 });
          throw new AuthenticationError('unknown token');
        },
      });
    });
    after(() => plain.close());

    it('answers the upgrade with 401 and opens no socket when authenticate rejects', async () => {
      assert.equal(await upgradeStatus(`${plain.url}/private?token=wrong`), 401);
      assert.equal(await upgradeStatus(`${plain.url}/private`), 401);
      assert.equal(plain.symphony.room('private'), undefined, 'the room was not even loaded');
    });

    it('answers 403 when authenticate rejects with status 403', async () => {
      assert.equal(await upgradeStatus(`${plain.url}/private?token=banned`), 403);
    });
  });

  it('lets a read-only client read the document and presence but drops its updates', async () => {
    const editor = clients.open(server.url, 'shared', { params: { token: 'editor' } });
    await editor.synced();
    editor.doc.getMap('m').set('by', 'editor');
    editor.provider.awareness.setLocalState({ user: 'eve' });
    const viewer = clients.open(server.url, 'shared', { params: { token: 'viewer' } });
    await viewer.synced();
    await waitFor(() => viewer.doc.getMap('m').get('by') === 'editor', 'viewer reads the document');
    await waitFor(() => viewer.provider.awareness.getStates().has(editor.doc.clientID), 'viewer sees presence');

    viewer.doc.getMap('m').set('by', 'viewer');
    await waitFor(() => server.symphony.connections('shared').some((c) => c.readOnly && c.droppedUpdates > 0), 'the update was dropped');
    editor.doc.getMap('m').set('after', true);
    await waitFor(() => viewer.doc.getMap('m').get('after') === true, 'the viewer still receives updates');
    assert.equal(editor.doc.getMap('m').get('by'), 'editor');
    assert.equal(server.symphony.stats().droppedReadOnlyUpdates > 0, true);
  });
});
