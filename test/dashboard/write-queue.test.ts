import assert from 'node:assert/strict';
import type { RoomWrite } from '../../lib/index.js';
import { WriteQueue } from '../../lib/dashboard/metadata/write-queue.js';

const at = (seconds: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + seconds * 1000);
const room = (name: string, seconds: number, peak = 0): RoomWrite => ({
  name,
  firstActivityAt: at(seconds),
  lastActivityAt: at(seconds),
  documentBytes: seconds,
  documentBytesAt: at(seconds),
  peakConnections: peak,
  lastCheckpointAt: null,
});

describe('the metadata write queue', () => {
  it('merges writes about the same room into one entry', () => {
    const queue = new WriteQueue(10);
    queue.addRoom(room('a', 1, 3));
    queue.addRoom(room('a', 5, 1));
    assert.equal(queue.size, 1);
    const [entry] = queue.take(10);
    assert.equal(entry.kind, 'room');
    const write = entry.write as RoomWrite;
    assert.deepEqual([write.firstActivityAt, write.lastActivityAt, write.documentBytes, write.peakConnections], [at(1), at(5), 5, 3]);
  });

  it('drops the oldest writes beyond its capacity, and counts them', () => {
    const queue = new WriteQueue(3);
    for (let i = 0; i < 5; i++) queue.addRoom(room(`r${i}`, i));
    assert.equal(queue.size, 3);
    assert.equal(queue.dropped, 2);
    assert.deepEqual(
      queue.take(10).map((entry) => (entry.write as RoomWrite).name),
      ['r2', 'r3', 'r4'],
    );
  });

  it('puts a failed batch back in front of newer writes, merged with them', () => {
    const queue = new WriteQueue(10);
    queue.addRoom(room('a', 1));
    queue.addRoom(room('b', 2));
    const failed = queue.take(10);
    queue.addRoom(room('c', 3));
    queue.addRoom(room('a', 4));
    queue.restore(failed);
    const entries = queue.take(10).map((entry) => entry.write as RoomWrite);
    assert.deepEqual(
      entries.map((write) => [write.name, write.lastActivityAt]),
      [
        ['a', at(4)],
        ['b', at(2)],
        ['c', at(3)],
      ],
    );
  });
});
