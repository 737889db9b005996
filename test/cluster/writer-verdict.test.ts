import assert from 'node:assert/strict';
import type { RoomEntry } from '../../lib/cluster/index.js';
import { judgeWriter } from '../../lib/cluster/replication/writer-verdict.js';

const now = 1_000_000;
const staleAfterMs = 30_000;
const holder = (nodeId: string) => ({ nodeId, url: `http://${nodeId}:3000`, heartbeatAt: now - 1_000 });
const lease = (holderId: string, renewedAgoMs: number, leftMs = 10_000) => ({ holder: holderId, leaseUntil: now + leftMs, renewedAt: now - renewedAgoMs });
const judge = (entry: RoomEntry) => judgeWriter(entry, 'me', now, staleAfterMs);

describe("judging a room's writer lease", () => {
  it('finds it free when nobody holds it, it was released, or it expired', () => {
    assert.deepEqual(judge({ holders: [], lease: null }), { kind: 'free' });
    assert.deepEqual(judge({ holders: [], lease: { holder: '', leaseUntil: 0, renewedAt: 0 } }), { kind: 'free' });
    assert.deepEqual(judge({ holders: [holder('other')], lease: lease('other', 1_000, -1) }), { kind: 'free' });
  });

  it("knows this node's own lease", () => {
    assert.deepEqual(judge({ holders: [], lease: lease('me', 1_000) }), { kind: 'self' });
  });

  it('asks a holder the registry lists as live', () => {
    assert.deepEqual(judge({ holders: [holder('other')], lease: lease('other', 60_000) }), { kind: 'listed', holder: 'other', url: 'http://other:3000' });
  });

  it('knows the holder dead once it is not listed and has not renewed for as long as an entry takes to go stale', () => {
    const stale = lease('dead', staleAfterMs + 1);
    assert.deepEqual(judge({ holders: [holder('other')], lease: stale }), { kind: 'dead', lease: stale });
  });

  it('knows the holder gone when it announced it left the room, even if its lease was renewed a moment before', () => {
    const kept = lease('gone', 1_000);
    const left = { nodeId: 'gone', at: now - 500 };
    assert.deepEqual(judgeWriter({ holders: [], lease: kept }, 'me', now, staleAfterMs, left), { kind: 'dead', lease: kept });
    assert.deepEqual(judgeWriter({ holders: [], lease: lease('gone', 100) }, 'me', now, staleAfterMs, left), { kind: 'unsettled', holder: 'gone' }, 'a lease taken after it left is a new one');
    assert.deepEqual(judgeWriter({ holders: [holder('gone')], lease: kept }, 'me', now, staleAfterMs, left), { kind: 'listed', holder: 'gone', url: 'http://gone:3000' }, 'it came back');
  });

  it('waits for a holder that renewed recently but is not listed yet (it may still be loading the room)', () => {
    assert.deepEqual(judge({ holders: [], lease: lease('loading', 2_000) }), { kind: 'unsettled', holder: 'loading' });
  });
});
