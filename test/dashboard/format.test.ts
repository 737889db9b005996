import assert from 'node:assert/strict';
import { formatCount, roomState } from '../../dashboard-ui/src/format.js';

describe("the dashboard page's wording", () => {
  it('counts in the singular for one and in the plural otherwise', () => {
    assert.equal(formatCount(0, 'checkpoint'), '0 checkpoints');
    assert.equal(formatCount(1, 'checkpoint'), '1 checkpoint');
    assert.equal(formatCount(2, 'checkpoint'), '2 checkpoints');
    assert.equal(formatCount(12_345, 'failure'), '12.3k failures');
  });

  it('calls a loaded room live, a saved one stored, and one without a checkpoint never saved', () => {
    const at = new Date().toISOString();
    assert.equal(roomState({ loaded: true, lastCheckpointAt: null }).label, 'live');
    assert.equal(roomState({ loaded: true, lastCheckpointAt: at }).label, 'live');
    assert.equal(roomState({ loaded: false, lastCheckpointAt: at }).label, 'stored');
    assert.deepEqual(roomState({ loaded: false, lastCheckpointAt: null }), { label: 'never saved', className: 'pill-unsaved', title: 'No checkpoint of this room is recorded' });
  });
});
