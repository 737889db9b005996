import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import * as Y from 'yjs';
import { CloseCode, EmbeddedMetadataStore, FileStore, silentLogger, type RoomListItem } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';
import { bearer, frameworks, startDashboardServer, type DashboardServer } from './support.js';

/** A Yjs update that sets `notes` to `text` in a new document (one update, as a backend would send). */
function textUpdate(text: string, clientId = 1): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = clientId;
  doc.getText('notes').insert(0, text);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

describe('documents API behind Express body parsers', () => {
  let app: DashboardServer;

  before(async () => {
    app = await startDashboardServer('express', { parsers: [express.json(), express.raw({ type: 'application/octet-stream' })] });
  });
  after(async () => {
    await app.close();
  });

  it('takes the body express.json() or express.raw() already read', async () => {
    const update = await request(app.server).post('/admin/api/rooms/parsed/update').set(bearer()).set('content-type', 'application/octet-stream').send(Buffer.from(textUpdate('parsed by express.raw')));
    assert.equal(update.status, 204);
    assert.equal((await app.symphony.toJSON('parsed'))?.notes, 'parsed by express.raw');
    const version = await request(app.server).post('/admin/api/rooms/parsed/versions').set(bearer()).send({ name: 'parsed by express.json' });
    assert.equal(version.status, 201);
    assert.equal(version.body.name, 'parsed by express.json');
  });
});

for (const framework of frameworks) {
  describe(`documents API (${framework})`, () => {
    let app: DashboardServer;
    let receiver: WebhookReceiver;
    const clients = new ClientPool();
    const MAX_MESSAGE_BYTES = 16_384;

    before(async () => {
      receiver = await WebhookReceiver.start();
      app = await startDashboardServer(framework, {
        dashboard: { metadata: new EmbeddedMetadataStore() },
        symphony: {
          limits: { maxMessageBytes: MAX_MESSAGE_BYTES },
          webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['version.created'] }],
          webhookDelivery: { initialRetryDelayMs: 50, maxRetryDelayMs: 100 },
        },
      });
    });
    after(async () => {
      clients.destroyAll();
      await app.close();
      await receiver.close();
    });

    const api = (method: 'get' | 'post' | 'delete', path: string) => request(app.server)[method](`/admin${path}`).set(bearer());
    const binary = (response: request.Response) => new Uint8Array(response.body as Buffer);
    const postUpdate = (room: string, update: Uint8Array) =>
      api('post', `/api/rooms/${room}/update`).set('content-type', 'application/octet-stream').send(Buffer.from(update));
    const parseBinary = (response: request.Response, callback: (error: Error | null, body: Buffer) => void) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    };

    describe('POST and GET /api/rooms/:room/update', () => {
      it('applies a posted update, relays it live to a connected y-websocket client and persists it', async () => {
        const client = clients.open(app.collabUrl, 'rest-write');
        await client.synced();
        const response = await postUpdate('rest-write', textUpdate('from the backend'));
        assert.equal(response.status, 204);
        await waitFor(() => client.doc.getText('notes').toString() === 'from the backend', 'the client received the update');
        const state = await app.symphony.readState('rest-write');
        const copy = new Y.Doc();
        Y.applyUpdate(copy, state as Uint8Array);
        assert.equal(copy.getText('notes').toString(), 'from the backend');
        copy.destroy();
      });

      it('loads a room that is not loaded to apply an update, and serves it back as one update', async () => {
        assert.equal((await postUpdate('rest-cold', textUpdate('cold start'))).status, 204);
        const response = await api('get', '/api/rooms/rest-cold/update').buffer(true).parse(parseBinary);
        assert.equal(response.status, 200);
        assert.equal(response.headers['content-type'], 'application/octet-stream');
        const doc = new Y.Doc();
        Y.applyUpdate(doc, binary(response));
        assert.equal(doc.getText('notes').toString(), 'cold start');
        doc.destroy();
      });

      it('answers only what a state vector lacks with ?stateVector=<base64>', async () => {
        const peer = new Y.Doc();
        Y.applyUpdate(peer, textUpdate('known part', 7));
        await postUpdate('rest-diff', Y.encodeStateAsUpdate(peer));
        const vector = Buffer.from(Y.encodeStateVector(peer)).toString('base64');
        const later = new Y.Doc();
        Y.applyUpdate(later, Y.encodeStateAsUpdate(peer));
        later.getText('notes').insert(0, 'new: ');
        await postUpdate('rest-diff', Y.encodeStateAsUpdate(later, Y.encodeStateVector(peer)));

        const whole = await api('get', '/api/rooms/rest-diff/update').buffer(true).parse(parseBinary);
        const diff = await api('get', `/api/rooms/rest-diff/update?stateVector=${encodeURIComponent(vector)}`).buffer(true).parse(parseBinary);
        assert.equal(diff.status, 200);
        assert.ok(binary(diff).byteLength < binary(whole).byteLength, 'the diff is smaller than the whole document');
        Y.applyUpdate(peer, binary(diff));
        assert.equal(peer.getText('notes').toString(), 'new: known part');
        peer.destroy();
        later.destroy();
      });

      it('answers 400 to a stateVector that is not base64 or not a state vector', async () => {
        for (const bad of ['not base64!', '@@@@']) {
          const response = await api('get', `/api/rooms/rest-diff/update?stateVector=${encodeURIComponent(bad)}`);
          assert.equal(response.status, 400, bad);
          assert.equal(response.body.code, 'bad_request');
          assert.match(response.body.error, /stateVector/);
        }
      });

      it('answers 404 for a room that does not exist', async () => {
        const response = await api('get', '/api/rooms/never-written/update');
        assert.equal(response.status, 404);
        assert.deepEqual(response.body, { error: 'room not found', code: 'room_not_found', room: 'never-written' });
      });

      it('refuses a malformed update with 400 and the JSON error; the room and its clients carry on', async () => {
        const client = clients.open(app.collabUrl, 'rest-malformed');
        await client.synced();
        const response = await postUpdate('rest-malformed', new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02, 0x03]));
        assert.equal(response.status, 400);
        assert.equal(response.body.code, 'malformed_update');
        assert.equal(response.body.room, 'rest-malformed');
        assert.equal(typeof response.body.error, 'string');
        assert.equal((await postUpdate('rest-malformed', textUpdate('still fine'))).status, 204);
        await waitFor(() => client.doc.getText('notes').toString() === 'still fine', 'a later update still arrives');
      });

      it('refuses a body above limits.maxMessageBytes with 413 before buffering it', async () => {
        const big = new Uint8Array(MAX_MESSAGE_BYTES + 1);
        const response = await postUpdate('rest-big', big);
        assert.equal(response.status, 413);
        assert.equal(response.body.code, 'payload_too_large');
        assert.equal(response.body.maxBytes, MAX_MESSAGE_BYTES);
        assert.equal(app.symphony.room('rest-big'), undefined, 'the room was not even loaded');
      });

      it('refuses a streamed body (no content-length) with 413 once it passes the limit, before the body ends', async () => {
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const outgoing = httpRequest(`${app.origin}/admin/api/rooms/rest-streamed/update`, {
            method: 'POST',
            headers: { ...bearer(), 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
          });
          outgoing.on('error', reject);
          outgoing.on('response', (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (text: string) => (body += text));
            response.on('end', () => {
              outgoing.destroy();
              resolve({ status: response.statusCode ?? 0, body });
            });
          });
          // More than the limit, and the body is never ended: only a server that refuses while
          // the body streams can answer.
          for (let sent = 0; sent <= MAX_MESSAGE_BYTES; sent += 4_096) outgoing.write(Buffer.alloc(4_096));
        });
        assert.equal(answer.status, 413);
        assert.equal((JSON.parse(answer.body) as { code: string }).code, 'payload_too_large');
        assert.equal(app.symphony.room('rest-streamed'), undefined);
      });

      it('refuses a body without application/octet-stream with 415, and an empty one with 400', async () => {
        const typed = await api('post', '/api/rooms/rest-typed/update').set('content-type', 'application/json').send('{}');
        assert.equal(typed.status, 415);
        assert.equal(typed.body.code, 'unsupported_media_type');
        const empty = await api('post', '/api/rooms/rest-typed/update').set('content-type', 'application/octet-stream');
        assert.equal(empty.status, 400);
      });

      it('refuses a write sent by a browser from another site with 403, and accepts one from the same origin', async () => {
        const foreign = await postUpdate('rest-origin', textUpdate('forged')).set('origin', 'https://evil.example');
        assert.equal(foreign.status, 403);
        assert.equal(foreign.body.code, 'cross_site_request');
        const crossSite = await api('post', '/api/rooms/rest-origin/versions').set('sec-fetch-site', 'cross-site');
        assert.equal(crossSite.status, 403);
        assert.equal(await app.symphony.readState('rest-origin'), null, 'nothing was written');
        const own = await postUpdate('rest-origin', textUpdate('from the page')).set('origin', app.origin).set('sec-fetch-site', 'same-origin');
        assert.equal(own.status, 204);
      });

      it('answers 405 with the allowed methods to other methods', async () => {
        const response = await api('delete', '/api/rooms/rest-write/update');
        assert.equal(response.status, 405);
        assert.equal(response.headers.allow, 'GET, HEAD, POST');
      });
    });

    describe('versions', () => {
      it('creates, lists, reads and restores a version; connected clients converge to it', async () => {
        const client = clients.open(app.collabUrl, 'rest-versions');
        await client.synced();
        const text = client.doc.getText('notes');
        text.insert(0, 'first draft');
        await waitFor(async () => (await app.symphony.toJSON('rest-versions'))?.notes === 'first draft', 'the server has the draft');

        const created = await api('post', '/api/rooms/rest-versions/versions').send({ name: 'draft 1', createdBy: 'ada' });
        assert.equal(created.status, 201);
        assert.equal(created.body.name, 'draft 1');
        assert.equal(created.body.createdBy, 'ada');
        assert.equal(created.body.room, 'rest-versions');
        assert.ok(created.body.bytes > 0);
        const id = created.body.id as string;
        await receiver.next((r) => r.event.type === 'version.created' && (r.event.data as { versionId: string }).versionId === id, 'version.created webhook');

        text.delete(0, text.length);
        text.insert(0, 'rewritten');
        await waitFor(async () => (await app.symphony.toJSON('rest-versions'))?.notes === 'rewritten', 'the server has the rewrite');
        const second = await api('post', '/api/rooms/rest-versions/versions');
        assert.equal(second.status, 201);

        const list = await api('get', '/api/rooms/rest-versions/versions');
        assert.equal(list.status, 200);
        const ids = (list.body.versions as { id: string }[]).map((version) => version.id);
        assert.deepEqual(ids.slice(0, 2), [second.body.id, id], 'newest first');

        const document = await api('get', `/api/rooms/rest-versions/versions/${id}/document`);
        assert.equal(document.status, 200);
        assert.deepEqual(document.body.document, { notes: 'first draft' });
        assert.equal(document.body.version.id, id);

        const restored = await api('post', `/api/rooms/rest-versions/versions/${id}/restore`);
        assert.equal(restored.status, 200);
        assert.equal(restored.body.version.id, id);
        await waitFor(() => text.toString() === 'first draft', 'the connected client converged to the version');
      });

      it('answers 404 for an unknown version or room, 400 for a malformed id or body', async () => {
        assert.equal((await api('get', '/api/rooms/rest-versions/versions/0000-nothing/document')).body.code, 'version_not_found');
        assert.equal((await api('post', '/api/rooms/rest-versions/versions/0000-nothing/restore')).status, 404);
        assert.equal((await api('post', '/api/rooms/no-such-room/versions')).status, 404);
        assert.equal((await api('get', '/api/rooms/rest-versions/versions/bad%20id/document')).status, 400);
        const badName = await api('post', '/api/rooms/rest-versions/versions').send({ name: 42 });
        assert.equal(badName.status, 400);
        assert.match(badName.body.error, /"name" must be a string/);
        const notJson = await api('post', '/api/rooms/rest-versions/versions').set('content-type', 'application/json').send('{oops');
        assert.equal(notJson.status, 400);
      });
    });

    describe('DELETE /api/rooms/:room', () => {
      it('closes connected clients with 4410, deletes the document and answers 204; the room is empty afterwards', async () => {
        const client = clients.open(app.collabUrl, 'rest-delete');
        const closeCodes: number[] = [];
        client.provider.on('connection-close', (event) => {
          if (event) closeCodes.push(event.code);
        });
        await client.synced();
        client.doc.getText('notes').insert(0, 'to be deleted');
        await waitFor(async () => (await app.symphony.toJSON('rest-delete'))?.notes === 'to be deleted', 'written');
        client.provider.shouldConnect = false;

        const response = await api('delete', '/api/rooms/rest-delete');
        assert.equal(response.status, 204);
        await waitFor(() => closeCodes.includes(CloseCode.roomDeleted), 'the client was closed with 4410');
        assert.equal(await app.symphony.readState('rest-delete'), null);
        assert.equal((await api('get', '/api/rooms/rest-delete/update')).status, 404);
        assert.equal((await api('delete', '/api/rooms/rest-delete')).status, 404);
      });
    });

    describe('GET /api/webhooks', () => {
      it('shows the endpoints without secrets, the totals and the recent deliveries', async () => {
        await waitFor(() => app.symphony.webhooks().stats.delivered > 0, 'a delivery');
        const response = await api('get', '/api/webhooks');
        assert.equal(response.status, 200);
        assert.deepEqual(response.body.endpoints, [{ url: receiver.url, events: ['version.created'] }]);
        assert.ok(response.body.stats.delivered > 0);
        const [latest] = response.body.deliveries;
        assert.deepEqual(Object.keys(latest).sort(), ['attempts', 'event', 'eventId', 'lastError', 'room', 'state', 'status', 'updatedAt', 'url']);
        assert.ok(!response.text.includes(WEBHOOK_SECRET));
        const stats = await api('get', '/api/stats');
        assert.deepEqual(Object.keys(stats.body.webhooks).sort(), ['delivered', 'dropped', 'endpoints', 'failed', 'failedAttempts', 'queued']);
        const metrics = await api('get', '/metrics');
        assert.match(metrics.text, /symphony_webhook_deliveries_total\{node_id="[^"]+"\} [1-9]/);
        assert.match(metrics.text, /symphony_webhook_deliveries_dropped_total/);
      });
    });
  });

  describe(`request bodies (${framework})`, () => {
    let app: DashboardServer;

    before(async () => {
      app = await startDashboardServer(framework, { symphony: { limits: { maxMessageBytes: 16_384 } } });
    });
    after(async () => {
      await app.close();
    });

    it('refuses a version request body above 4 KiB with 413', async () => {
      await app.symphony.change('bodies', (doc) => doc.getText('notes').insert(0, 'x'));
      const response = await request(app.server).post('/admin/api/rooms/bodies/versions').set(bearer()).send({ name: 'x'.repeat(5_000) });
      assert.equal(response.status, 413);
      assert.equal(response.body.code, 'payload_too_large');
    });
  });

  describe(`room list after a restart (${framework})`, () => {
    let directory: string;

    before(async () => {
      directory = await mkdtemp(join(tmpdir(), 'symphony-stored-rooms-'));
    });
    after(async () => {
      await rm(directory, { recursive: true, force: true });
    });

    it('lists the rooms in the document store with a fresh metadata store, sorted, filtered and paginated', async () => {
      const first = await startDashboardServer(framework, { symphony: { store: new FileStore({ directory, logger: silentLogger }) } });
      for (const name of ['stored-c', 'stored-a', 'stored-b', 'other-room']) {
        await first.symphony.change(name, (doc) => doc.getText('notes').insert(0, name));
      }
      await first.close();

      const second = await startDashboardServer(framework, { symphony: { store: new FileStore({ directory, logger: silentLogger }) }, dashboard: { metadata: new EmbeddedMetadataStore() } });
      try {
        const get = (query: string) => request(second.server).get(`/admin/api/rooms${query}`).set(bearer());
        const all = await get('?sort=name');
        assert.equal(all.status, 200);
        assert.deepEqual((all.body.rooms as RoomListItem[]).map((room) => room.name), ['other-room', 'stored-a', 'stored-b', 'stored-c']);
        assert.equal(all.body.total, 4);
        assert.equal((all.body.rooms as RoomListItem[])[0].loaded, false);
        const page = await get('?sort=name&prefix=stored-&offset=1&limit=1');
        assert.deepEqual((page.body.rooms as RoomListItem[]).map((room) => room.name), ['stored-b']);
        assert.equal(page.body.total, 3);
        const descending = await get('?sort=name&order=desc&prefix=stored-');
        assert.deepEqual((descending.body.rooms as RoomListItem[]).map((room) => room.name), ['stored-c', 'stored-b', 'stored-a']);
        // Loaded again, a room is listed once, live.
        await second.symphony.change('stored-b', (doc) => doc.getText('notes').insert(0, '!'));
        const merged = await get('?sort=name&prefix=stored-');
        assert.deepEqual((merged.body.rooms as RoomListItem[]).map((room) => [room.name, room.loaded]), [['stored-a', false], ['stored-b', true], ['stored-c', false]]);
      } finally {
        await second.close();
      }
    });
  });
}
