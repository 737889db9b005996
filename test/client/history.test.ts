import assert from 'node:assert/strict';
import { Y } from '../../client/index.js';
import { waitFor } from '../support/wait-for.js';
import { ClientPool, RestartableServer, uniqueRoom } from './harness.js';

/** A whiteboard shape as the demo stores it: one Y.Map per shape in the `shapes` map. */
function shape(fields: Record<string, unknown>): Y.Map<unknown> {
  const map = new Y.Map<unknown>();
  for (const [key, value] of Object.entries(fields)) map.set(key, value);
  return map;
}

describe('client SDK: per-user undo and redo', () => {
  const server = new RestartableServer();
  const clients = new ClientPool();

  before(() => server.start());
  afterEach(() => clients.destroyAll());
  after(() => server.stop());

  async function aliceAndBob() {
    const room = uniqueRoom('history');
    const alice = clients.open(server.url).enterRoom(room);
    const bob = clients.open(server.url).enterRoom(room);
    await Promise.all([alice.whenSynced(), bob.whenSynced()]);
    return { alice, bob };
  }

  it("reverts only the user's own change: Bob's undo reverts his colour change and leaves Alice's new triangle", async () => {
    const { alice, bob } = await aliceAndBob();
    alice.transact(() => alice.map<Y.Map<unknown>>('shapes').set('square', shape({ type: 'rect', stroke: '#000000' })));
    await waitFor(() => bob.map<Y.Map<unknown>>('shapes').has('square'), 'Bob sees the square');

    bob.transact(() => bob.map<Y.Map<unknown>>('shapes').get('square')!.set('stroke', '#dc2626'));
    await waitFor(() => alice.map<Y.Map<unknown>>('shapes').get('square')!.get('stroke') === '#dc2626', 'Alice sees the red square');
    alice.history.stopCapturing();
    alice.transact(() => alice.map<Y.Map<unknown>>('shapes').set('triangle', shape({ type: 'triangle', stroke: '#16a34a' })));
    await waitFor(() => bob.map<Y.Map<unknown>>('shapes').has('triangle'), 'Bob sees the triangle');

    assert.equal(bob.undo(), true);
    for (const user of [alice, bob]) {
      const shapes = user.map<Y.Map<unknown>>('shapes');
      await waitFor(() => shapes.get('square')!.get('stroke') === '#000000', `${user === alice ? 'Alice' : 'Bob'} sees the colour reverted`);
      assert.ok(shapes.has('triangle'), "Alice's triangle stays");
    }
    assert.equal(bob.canUndo(), false, 'Bob has nothing else to undo: the square and the triangle are Alice\'s');
  });

  it('undoes a batch as one step and redoes it', async () => {
    const { alice } = await aliceAndBob();
    const shapes = alice.map<Y.Map<unknown>>('shapes');
    alice.history.batch(() => {
      shapes.set('a', shape({ type: 'rect' }));
      shapes.set('b', shape({ type: 'ellipse' }));
    });
    assert.equal(alice.canUndo(), true);
    assert.equal(alice.canRedo(), false);
    alice.undo();
    assert.deepEqual([...shapes.keys()], []);
    assert.equal(alice.canRedo(), true);
    alice.redo();
    assert.deepEqual([...shapes.keys()].sort(), ['a', 'b']);
  });

  it('makes each batch its own step after stopCapturing(), and treats direct edits as the user\'s too', async () => {
    const { alice } = await aliceAndBob();
    const list = alice.array<string>('list');
    alice.transact(() => list.push(['first']));
    alice.history.stopCapturing();
    list.push(['second']); // outside any transaction: still this user's change
    alice.undo();
    assert.deepEqual(list.toArray(), ['first']);
    alice.undo();
    assert.deepEqual(list.toArray(), []);
  });

  it('merges every change between pause() and resume() into one step, however slow the gesture', async () => {
    const alice = clients.open(server.url, { undoCaptureTimeoutMs: 10 }).enterRoom(uniqueRoom('gesture'));
    const points = alice.array<number>('points');
    points.push([0]);
    alice.history.pause();
    points.push([1]);
    await new Promise((resolve) => setTimeout(resolve, 40)); // the pointer rests longer than the capture timeout
    points.push([2]);
    alice.history.resume();
    points.push([3]);
    alice.undo();
    assert.deepEqual(points.toArray(), [0, 1, 2], 'the change after resume() is its own step');
    alice.undo();
    assert.deepEqual(points.toArray(), [0], 'the gesture is one step');
    alice.undo();
    assert.deepEqual(points.toArray(), []);
  });

  it('emits `history` when canUndo or canRedo may have changed', async () => {
    const { alice } = await aliceAndBob();
    let notifications = 0;
    alice.on('history', () => notifications++);
    alice.transact(() => alice.map('settings').set('zoom', 2));
    assert.ok(notifications >= 1, 'notified when a step is added');
    const afterAdd = notifications;
    alice.undo();
    assert.ok(notifications > afterAdd, 'notified when a step is undone');
  });

  it("never offers to undo other users' changes", async () => {
    const { alice, bob } = await aliceAndBob();
    bob.transact(() => bob.map('settings').set('title', 'Bob was here'));
    await waitFor(() => alice.map('settings').get('title') === 'Bob was here', 'Alice sees Bob\'s change');
    assert.equal(alice.canUndo(), false);
    assert.equal(alice.undo(), false);
    assert.equal(alice.map('settings').get('title'), 'Bob was here');
  });
});
