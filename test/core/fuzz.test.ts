import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { ClientPool } from '../support/clients.js';
import { awarenessMessage, stepOneMessage, updateMessage } from '../support/messages.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(message: Uint8Array, next: () => number): Uint8Array {
  const bytes = Uint8Array.from(message);
  switch (Math.floor(next() * 4)) {
    case 0: // flip a few bytes
      for (let i = 0; i < 1 + next() * 4; i++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, Math.floor(next() * bytes.length));
    case 2: // garbage appended to a valid prefix
      return Uint8Array.from([...bytes.subarray(0, Math.floor(next() * bytes.length)), ...Array.from({ length: 1 + next() * 32 }, () => Math.floor(next() * 256))]);
    default: // random bytes
      return Uint8Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256));
  }
}

describe('fuzzing with random and mutated messages', () => {
  let server: RunningSymphony;
  const clients = new ClientPool();

  before(async () => {
    server = await startSymphony({ limits: { maxMessageBytes: 64 * 1024 } });
  });

  after(async () => {
    clients.destroyAll();
    await server.close();
  });

  it('never crashes the server, and a well-behaved room sees every one of its updates', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const next = random(seed);
    const writer = clients.open(server.url, 'calm');
    const reader = clients.open(server.url, 'calm');
    await Promise.all([writer.synced(), reader.synced()]);

    const valid = [
      stepOneMessage(),
      updateMessage((doc) => doc.getMap('shapes').set('s', { x: 1, y: 2 })),
      updateMessage((doc) => doc.getText('t').insert(0, 'hello')),
      updateMessage((doc) => doc.getXmlFragment('x').insert(0, [new Y.XmlElement('p')])),
      awarenessMessage({ user: 'fuzz', cursor: { x: 3, y: 4 } }),
    ];
    const total = 3_000;
    let sent = 0;
    let closedWithReason = 0;
    let written = 0;
    while (sent < total) {
      const socket = new WebSocket(`${server.url}/fuzz-${Math.floor(next() * 5)}`);
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('open', resolve));
      for (let i = 0; i < 50 && sent < total && socket.readyState === WebSocket.OPEN; i++, sent++) {
        const base = valid[Math.floor(next() * valid.length)];
        socket.send(next() < 0.2 ? base : mutate(base, next));
        // Meanwhile the calm room keeps working.
        if (sent % 10 === 0) writer.doc.getArray('log').push([written++]);
      }
      socket.close();
      if ((await closed) === 1002) closedWithReason++;
    }
    await waitFor(() => reader.doc.getArray('log').length === written, `the reader received all ${written} updates (seed ${seed})`, 10_000);
    assert.deepEqual(reader.doc.getArray('log').toArray(), [...Array(written).keys()]);
    assert.ok(closedWithReason > 0, 'malformed messages closed their connections with 1002');
    assert.ok(server.symphony.stats().protocolErrors > 0);
    assert.equal(server.symphony.accepting, true);
  });
});
