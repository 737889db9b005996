import assert from 'node:assert/strict';
import { waitFor } from '../support/wait-for.js';
import { WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.js';
import { bearer, TOKEN } from '../dashboard/support.js';
import { TestCluster, type ClusterNode } from './support/cluster.js';

const DOCUMENT_UPDATED_INTERVAL_MS = 500;

describe('webhooks in cluster mode: two nodes share a room, the cluster sends each event once', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let receiver: WebhookReceiver;
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    receiver = await WebhookReceiver.start();
    cluster = await TestCluster.start();
    [a, b] = await cluster.startNodes(2, {
      TEST_WEBHOOK_URL: receiver.url,
      TEST_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TEST_DOCUMENT_UPDATED_INTERVAL_MS: String(DOCUMENT_UPDATED_INTERVAL_MS),
      TEST_DASHBOARD_TOKEN: TOKEN,
    });
  });

  afterEach(function () {
    cluster.clients.destroyAll();
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  it('sends a room\'s shared events from its writer only, the others from the one node where they happen', async () => {
    const room = 'hooked-board';
    const first = cluster.connect(a, room);
    await first.synced();
    const second = cluster.connect(b, room);
    await second.synced();
    const text = first.doc.getText('text');
    // Edits on one node for about four intervals: both nodes apply each of them.
    for (let i = 0; i < 40; i++) {
      text.insert(text.length, 'x');
      await waitFor(() => second.doc.getText('text').length === i + 1, 'the edit reached the other node');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(() => receiver.received.filter((r) => r.event.type === 'document.updated' && r.event.data.room === room).length >= 3, 'document.updated events', 10_000);

    // A named version, asked of the node that does not write the room: it is written (and announced) once.
    const details = (await (await fetch(`${a.url}/admin/api/rooms/${room}`, { headers: bearer() })).json()) as { writer: string | null };
    const replica = [a, b].find((node) => node.name !== details.writer) as ClusterNode;
    const response = await fetch(`${replica.url}/admin/api/rooms/${room}/versions`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'asked of a replica' }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    await receiver.next((r) => r.event.type === 'version.created' && r.event.data.room === room, 'version.created');

    const ofRoom = (type: string) => receiver.received.filter((r) => r.event.type === type && r.event.data.room === room);
    assert.ok(receiver.received.every((r) => r.verified), 'every request is signed');
    assert.equal(new Set(receiver.received.map((r) => r.event.id)).size, receiver.received.length, 'no event is sent twice');
    assert.equal(ofRoom('room.loaded').length, 1, 'room.loaded once, by the writer');
    assert.equal(ofRoom('version.created').length, 1, 'version.created once');
    assert.equal(ofRoom('user.joined').length, 2, 'one user.joined per connection, from its node');
    // One sender spaces its events at least an interval apart; two nodes each sending would double
    // them. One more is allowed for a writer lease that changed hands on a busy machine.
    const updates = ofRoom('document.updated').map((r) => Date.parse(r.event.createdAt));
    const spanMs = updates[updates.length - 1] - updates[0];
    assert.ok(updates.length <= Math.floor(spanMs / DOCUMENT_UPDATED_INTERVAL_MS) + 2, `${updates.length} document.updated events over ${spanMs} ms`);

    first.provider.shouldConnect = false;
    second.provider.shouldConnect = false;
    const deleted = await fetch(`${b.url}/admin/api/rooms/${room}`, { method: 'DELETE', headers: bearer() });
    assert.equal(deleted.status, 204);
    await receiver.next((r) => r.event.type === 'room.deleted' && r.event.data.room === room, 'room.deleted');
    assert.equal(ofRoom('room.deleted').length, 1, 'room.deleted once, from the node that deleted it');
  });
});
