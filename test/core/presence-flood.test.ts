import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CloseCode } from '../../lib/index.js';
import { ClientPool, rawClient } from '../support/clients.js';
import { freePort } from '../support/example-process.js';
import { rawAwarenessMessage } from '../support/messages.js';
import { waitFor } from '../support/wait-for.js';

const HEAP_MB = 256;
const MESSAGE_BYTES = 1_000_000;

describe('a presence flood against a server with a 256 MB heap', function () {
  this.timeout(60_000);
  let child: ChildProcess;
  let log = '';
  let baseUrl: string;
  let collabUrl: string;
  const clients = new ClientPool();

  before(async () => {
    const port = await freePort();
    child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', 'test/core/fixtures/small-heap-server.ts'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    baseUrl = `http://127.0.0.1:${port}`;
    collabUrl = `ws://127.0.0.1:${port}/collab`;
    await waitFor(async () => (await fetch(`${baseUrl}/healthz`).catch(() => null))?.status === 200, 'the server listens', 20_000);
  });

  after(async () => {
    clients.destroyAll();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('closes each read-only flooding connection with 4430 after one message, and every room carries on', async () => {
    const writer = clients.open(collabUrl, 'board');
    const reader = clients.open(collabUrl, 'board');
    await Promise.all([writer.synced(), reader.synced()]);

    // Six messages of a million bytes (about 170,000 client ids each): 6 MB of presence, as a
    // read-only user may send it. Each connection gets closed, so the attacker reconnects.
    let sentBytes = 0;
    for (let round = 0; sentBytes < 6_000_000; round++) {
      const attacker = await rawClient(`${collabUrl}/board?token=viewer`);
      const entries = Array.from({ length: MESSAGE_BYTES / 6 }, (_, i) => ({ clientId: 20_000 + round * 200_000 + i, clock: 1, state: '0' }));
      const message = rawAwarenessMessage(entries);
      attacker.socket.send(message);
      attacker.socket.send(message);
      sentBytes += 2 * message.byteLength;
      assert.equal((await attacker.closed).code, CloseCode.presenceRefused, `round ${round}: ${log}`);
    }

    writer.doc.getMap('m').set('still', 'working');
    await waitFor(() => reader.doc.getMap('m').get('still') === 'working', 'the room still relays updates', 10_000);
    const other = clients.open(collabUrl, 'another room');
    await other.synced();
    const { heapUsedBytes } = (await (await fetch(`${baseUrl}/healthz`)).json()) as { heapUsedBytes: number };
    assert.ok(heapUsedBytes < 128 * 1024 * 1024, `heap used ${heapUsedBytes} bytes`);
    assert.equal(child.exitCode, null, log);
  });
});
