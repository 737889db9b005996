import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as Y from 'yjs';
import { attachSymphony, ConfigurationError, MemoryStore, signWebhook, silentLogger, verifyWebhook, type SymphonyOptions, type WebhookDeliveryOptions, type WebhookEvent } from '../../lib/index.js';
import { ClientPool } from '../support/clients.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';
import { WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';

/** Short enough that a test sees retries within a second; production defaults are in seconds and minutes. */
const fastDelivery: WebhookDeliveryOptions = { initialRetryDelayMs: 50, maxRetryDelayMs: 200, requestTimeoutMs: 2_000, documentUpdatedIntervalMs: 200, closeTimeoutMs: 1_000 };

describe('webhooks', () => {
  describe('configuration', () => {
    const attach = (options: SymphonyOptions) => {
      const symphony = attachSymphony(createServer(), { store: new MemoryStore(), logger: silentLogger, ...options });
      return symphony.close();
    };

    it('throws a ConfigurationError naming the field for a bad URL, a short secret or an unknown event', () => {
      const cases: [SymphonyOptions, string][] = [
        [{ webhooks: [{ url: 'not a url', secret: WEBHOOK_SECRET }] }, '"webhooks[0].url" is not a valid URL: "not a url" (expected e.g. https://example.com/hooks/symphony)'],
        [{ webhooks: [{ url: 'ftp://example.com/hook', secret: WEBHOOK_SECRET }] }, '"webhooks[0].url" must start with http:// or https://, got ftp://'],
        [{ webhooks: [{ url: 'https://example.com/hook', secret: 'short' }] }, '"webhooks[0].secret" must be a string of at least 16 characters'],
        [
          { webhooks: [{ url: 'https://example.com/hook', secret: WEBHOOK_SECRET, events: ['room.loaded', 'room.exploded' as 'room.loaded'] }] },
          '"webhooks[0].events" names an unknown event "room.exploded"; known events: room.loaded, room.unloaded, document.updated, document.stored, user.joined, user.left, version.created, room.deleted',
        ],
        [{ webhooks: {} as never }, '"webhooks" must be an array of { url, secret, events? }'],
        [{ webhookDelivery: { concurrency: 0 } }, '"webhookDelivery.concurrency" must be a positive integer, got 0'],
        [{ webhookDelivery: { initialRetryDelayMs: 5_000, maxRetryDelayMs: 1_000 } }, '"webhookDelivery.maxRetryDelayMs" (1000) must not be below "webhookDelivery.initialRetryDelayMs" (5000)'],
      ];
      for (const [options, message] of cases) {
        assert.throws(() => attach(options), (error: unknown) => error instanceof ConfigurationError && error.message === message, message);
      }
    });
  });

  describe('verifyWebhook', () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'room.loaded', createdAt: '2026-01-01T00:00:00.000Z', data: { room: 'r' } });
    const now = 1_800_000_000;

    it('accepts the signature of the exact body with the secret, within the tolerance', () => {
      const header = signWebhook(body, WEBHOOK_SECRET, now);
      assert.match(header, /^t=1800000000,v1=[0-9a-f]{64}$/);
      assert.equal(verifyWebhook(body, header, WEBHOOK_SECRET, { nowSeconds: now + 299 }), true);
      assert.equal(verifyWebhook(Buffer.from(body), header, WEBHOOK_SECRET, { nowSeconds: now }), true);
    });

    it('refuses another body, another secret, a stale or future timestamp and malformed headers', () => {
      const header = signWebhook(body, WEBHOOK_SECRET, now);
      assert.equal(verifyWebhook(`${body} `, header, WEBHOOK_SECRET, { nowSeconds: now }), false);
      assert.equal(verifyWebhook(body, header, `${WEBHOOK_SECRET}x`, { nowSeconds: now }), false);
      assert.equal(verifyWebhook(body, header, WEBHOOK_SECRET, { nowSeconds: now + 301 }), false);
      assert.equal(verifyWebhook(body, header, WEBHOOK_SECRET, { nowSeconds: now - 301 }), false);
      assert.equal(verifyWebhook(body, header, WEBHOOK_SECRET, { nowSeconds: now + 50, toleranceSeconds: 10 }), false);
      const signature = header.split('v1=')[1];
      for (const malformed of [undefined, '', `v1=${signature}`, `t=${now}`, `t=${now},v1=${signature.slice(2)}`, `t=abc,v1=${signature}`]) {
        assert.equal(verifyWebhook(body, malformed, WEBHOOK_SECRET, { nowSeconds: now }), false, String(malformed));
      }
    });

    it('accepts a header with a second signature, so secrets can rotate', () => {
      const header = `${signWebhook(body, 'the-previous-secret-000', now)},v1=${signWebhook(body, WEBHOOK_SECRET, now).split('v1=')[1]}`;
      assert.equal(verifyWebhook(body, header, WEBHOOK_SECRET, { nowSeconds: now }), true);
    });
  });

  describe("the README's Express receiver", () => {
    it('accepts Symphony\'s signed requests through express.raw() and verifyWebhook, and refuses a forged one', async () => {
      const received: WebhookEvent[] = [];
      const app = express();
      app.post('/hooks/symphony', express.raw({ type: 'application/json' }), (request, response) => {
        if (!verifyWebhook(request.body as Buffer, request.get('symphony-signature'), WEBHOOK_SECRET)) {
          response.sendStatus(401);
          return;
        }
        received.push(JSON.parse((request.body as Buffer).toString('utf8')) as WebhookEvent);
        response.sendStatus(204);
      });
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/symphony`;
      const running = await startSymphony({ webhooks: [{ url, secret: WEBHOOK_SECRET, events: ['room.loaded'] }] });
      try {
        await running.symphony.change('express-receiver', (doc) => doc.getMap('m').set('k', 1));
        await waitFor(() => running.symphony.webhooks().stats.delivered === 1, 'the receiver accepted the event');
        assert.equal(received.length, 1);
        assert.equal(received[0].data.room, 'express-receiver');
        assert.equal(running.symphony.webhooks().deliveries[0].status, 204);
        const body = JSON.stringify({ ...received[0], data: { room: 'someone-else' } });
        const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'symphony-signature': signWebhook(body, 'not-the-shared-secret') }, body });
        assert.equal(forged.status, 401);
      } finally {
        await running.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  describe('delivery', () => {
    let receiver: WebhookReceiver;
    let app: RunningSymphony | null = null;
    const clients = new ClientPool();

    beforeEach(async () => {
      receiver = await WebhookReceiver.start();
    });
    afterEach(async () => {
      clients.destroyAll();
      await app?.close();
      app = null;
      await receiver.close();
    });

    const start = async (options: SymphonyOptions = {}, delivery: WebhookDeliveryOptions = {}) => {
      app = await startSymphony({
        unloadGraceMs: 20,
        authenticate: ({ token }) => ({ userId: token ?? 'anonymous' }),
        webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET }],
        webhookDelivery: { ...fastDelivery, ...delivery },
        ...options,
      });
      return app;
    };

    it('sends every event type, signed, with the documented payload', async () => {
      const { symphony, url } = await start();
      const client = clients.open(url, 'hooks', { params: { token: 'ada' } });
      await client.synced();
      client.doc.getText('notes').insert(0, 'hello');

      const loaded = await receiver.next((r) => r.event.type === 'room.loaded', 'room.loaded');
      assert.deepEqual(Object.keys(loaded.event).sort(), ['createdAt', 'data', 'id', 'type']);
      assert.match(loaded.event.id, /^evt_[0-9a-f-]{36}$/);
      assert.ok(!Number.isNaN(Date.parse(loaded.event.createdAt)));
      assert.deepEqual(Object.keys(loaded.event.data).sort(), ['documentBytes', 'room']);
      assert.equal(loaded.event.data.room, 'hooks');

      const joined = await receiver.next((r) => r.event.type === 'user.joined', 'user.joined');
      const connectionId = symphony.connections('hooks')[0].id;
      assert.deepEqual(joined.event.data, { room: 'hooks', userId: 'ada', connectionId, readOnly: false });

      const updated = await receiver.next((r) => r.event.type === 'document.updated', 'document.updated');
      const data = updated.event.data as { room: string; documentBytes: number; stateVector: string };
      assert.equal(data.room, 'hooks');
      assert.ok(data.documentBytes > 0);
      assert.deepEqual(new Uint8Array(Buffer.from(data.stateVector, 'base64')), Y.encodeStateVector(client.doc));

      const version = await symphony.createVersion('hooks', { name: 'first draft', createdBy: 'ada' });
      const created = await receiver.next((r) => r.event.type === 'version.created', 'version.created');
      assert.deepEqual(created.event.data, {
        room: 'hooks',
        versionId: version.id,
        kind: 'named',
        name: 'first draft',
        createdBy: 'ada',
        createdAt: version.createdAt.toISOString(),
        bytes: version.bytes,
      });

      client.destroy();
      const left = await receiver.next((r) => r.event.type === 'user.left', 'user.left');
      assert.equal((left.event.data as { connectionId: string }).connectionId, connectionId);
      assert.equal((left.event.data as { userId: string }).userId, 'ada');
      assert.equal(typeof (left.event.data as { code: number }).code, 'number');
      const stored = await receiver.next((r) => r.event.type === 'document.stored', 'document.stored');
      assert.equal(stored.event.data.room, 'hooks');
      assert.ok((stored.event.data as { bytes: number }).bytes > 0);
      await receiver.next((r) => r.event.type === 'room.unloaded', 'room.unloaded');

      assert.equal(await symphony.deleteRoom('hooks'), true);
      const deleted = await receiver.next((r) => r.event.type === 'room.deleted', 'room.deleted');
      assert.deepEqual(deleted.event.data, { room: 'hooks' });

      assert.ok(receiver.received.every((r) => r.verified), 'every request carries a valid signature');
      assert.equal(new Set(receiver.received.map((r) => r.event.id)).size, receiver.received.length, 'each event has its own id');
      await waitFor(() => symphony.stats().webhooks.delivered === receiver.received.length, 'every request counted as delivered');
    });

    it('coalesces document.updated: at most one per room per interval, the last describing the final state', async () => {
      const { url } = await start({}, { documentUpdatedIntervalMs: 400 });
      const client = clients.open(url, 'busy');
      await client.synced();
      const text = client.doc.getText('notes');
      for (let i = 0; i < 30; i++) text.insert(text.length, 'x');
      await receiver.next((r) => r.event.type === 'document.updated', 'first document.updated');
      for (let i = 0; i < 30; i++) text.insert(text.length, 'y');
      const finalVector = Buffer.from(Y.encodeStateVector(client.doc)).toString('base64');
      await receiver.next((r) => (r.event.data as { stateVector?: string }).stateVector === finalVector, 'a document.updated with the final state');
      const sent = receiver.ofType('document.updated').map((r) => Date.parse(r.event.createdAt));
      // 60 updates, arriving over at most two intervals: two or three events, never two in one interval.
      assert.ok(sent.length >= 2 && sent.length <= 3, `${sent.length} events`);
      for (let i = 1; i < sent.length; i++) assert.ok(sent[i] - sent[i - 1] >= 390, `an event ${sent[i] - sent[i - 1]} ms after the previous one`);
    });

    it('sends only the event types an endpoint subscribed to', async () => {
      const { url } = await start({ webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['user.joined'] }] });
      const client = clients.open(url, 'filtered', { params: { token: 'bo' } });
      await client.synced();
      await receiver.next((r) => r.event.type === 'user.joined', 'user.joined');
      client.doc.getText('t').insert(0, 'x');
      client.destroy();
      await waitFor(() => app?.symphony.room('filtered') === undefined, 'room unloaded');
      assert.deepEqual(receiver.received.map((r) => r.event.type), ['user.joined']);
    });

    it('retries a delivery answered 500, with the same id and signature check, until the receiver answers 200', async () => {
      receiver.respond = (_event, attempt) => (attempt < 3 ? 500 : 200);
      const { symphony } = await start({ webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['room.loaded'] }] });
      await symphony.change('retried', (doc) => doc.getMap('m').set('k', 1));
      await waitFor(() => symphony.webhooks().stats.delivered === 1, 'a delivery accepted');
      assert.deepEqual(receiver.received.map((r) => r.status), [500, 500, 200]);
      assert.equal(new Set(receiver.received.map((r) => r.event.id)).size, 1, 'one event id across the attempts');
      assert.ok(receiver.received.every((r) => r.verified));
      const status = symphony.webhooks();
      assert.deepEqual(status.stats, { endpoints: 1, queued: 0, delivered: 1, failedAttempts: 2, failed: 0, dropped: 0 });
      const [record] = status.deliveries;
      assert.equal(record.state, 'delivered');
      assert.equal(record.attempts, 3);
      assert.equal(record.status, 200);
      assert.equal(record.event, 'room.loaded');
      assert.equal(record.url, receiver.url);
      assert.deepEqual(status.endpoints, [{ url: receiver.url, events: ['room.loaded'] }]);
      assert.ok(!JSON.stringify(status).includes(WEBHOOK_SECRET), 'the secret is never shown');
    });

    it('retries a request that times out', async () => {
      receiver.respond = (_event, attempt) => (attempt === 1 ? 'hold' : 204);
      const { symphony } = await start({ webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['room.loaded'] }] }, { requestTimeoutMs: 200 });
      await symphony.change('slow-receiver', (doc) => doc.getMap('m').set('k', 1));
      await waitFor(() => symphony.webhooks().stats.delivered === 1, 'delivered on the second attempt');
      const [record] = symphony.webhooks().deliveries;
      assert.equal(record.attempts, 2);
      assert.equal(record.status, 204);
      assert.equal(symphony.webhooks().stats.failedAttempts, 1);
    });

    it('gives a delivery up once it is retryForMs old, and counts it', async () => {
      receiver.respond = () => 500;
      const { symphony } = await start({ webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['room.loaded'] }] }, { retryForMs: 300 });
      await symphony.change('never-accepted', (doc) => doc.getMap('m').set('k', 1));
      await waitFor(() => symphony.webhooks().stats.failed === 1, 'delivery given up');
      const [record] = symphony.webhooks().deliveries;
      assert.equal(record.state, 'failed');
      assert.equal(record.lastError, 'HTTP 500');
      assert.ok(record.attempts >= 3, `retried (${record.attempts} attempts)`);
    });

    it('drops the oldest waiting delivery when the queue is full, and counts it', async () => {
      receiver.respond = () => 'hold';
      const { symphony } = await start(
        { webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['room.loaded'] }] },
        { concurrency: 1, maxQueuedDeliveries: 3, requestTimeoutMs: 10_000 },
      );
      const rooms = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5'];
      for (const room of rooms) await symphony.change(room, (doc) => doc.getMap('m').set('k', 1));
      await waitFor(() => receiver.heldCount === 1, 'the first request in flight');
      // Three held at most, the one in flight included: q0 is in flight and cannot be dropped, so
      // q3, q4 and q5 each pushed out the oldest waiting one (q1, q2, q3).
      assert.deepEqual(symphony.webhooks().stats, { endpoints: 1, queued: 3, delivered: 0, failedAttempts: 0, failed: 0, dropped: 3 });
      receiver.respond = () => 200;
      receiver.release(200);
      await waitFor(() => symphony.webhooks().stats.delivered === 3, 'the rest delivered');
      assert.deepEqual(receiver.received.map((r) => r.event.data.room), ['q0', 'q4', 'q5']);
      const dropped = symphony.webhooks().deliveries.filter((record) => record.state === 'dropped').map((record) => record.room);
      assert.deepEqual(dropped.sort(), ['q1', 'q2', 'q3']);
    });

    it('close() sends what is queued, and gives up within closeTimeoutMs on a receiver that hangs', async () => {
      receiver.respond = () => 'hold';
      const running = await start({ webhooks: [{ url: receiver.url, secret: WEBHOOK_SECRET, events: ['room.loaded', 'room.unloaded'] }] }, { closeTimeoutMs: 300, requestTimeoutMs: 10_000 });
      await running.symphony.change('at-shutdown', (doc) => doc.getMap('m').set('k', 1));
      await waitFor(() => receiver.heldCount === 1, 'the request in flight');
      const startedAt = Date.now();
      app = null;
      await running.close();
      assert.ok(Date.now() - startedAt < 2_000, 'close() is bounded');
      assert.equal(running.symphony.stats().webhooks.dropped >= 1, true);
    });
  });
});
