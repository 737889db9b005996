import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as encoding from 'lib0/encoding';
import { CloseCode } from '../../lib/index.js';
import { syncUpdateFrame } from '../../lib/core/protocol/frames.js';
import { ClientPool, rawClient } from '../support/clients.js';
import { craftUpdate, type CraftedItem } from '../support/crafted-updates.js';
import { waitFor } from '../support/wait-for.js';

/** The worst messages one writer can send within the 1 MiB message limit, each from a fresh client id. */
const attacks: Record<string, (client: number) => Uint8Array> = {
  // Deletions of structs that do not exist: Yjs keeps them pending, outside the document.
  deletes: () => {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, 1);
    encoding.writeVarUint(encoder, 424_242);
    encoding.writeVarUint(encoder, 150_000);
    for (let i = 0; i < 150_000; i++) {
      encoding.writeVarUint(encoder, i * 2);
      encoding.writeVarUint(encoder, 1);
    }
    return encoding.toUint8Array(encoder);
  },
  // Prepends never merge: every character stays an item of its own (about 7 encoded bytes each).
  prepends: (client) => {
    const items: CraftedItem[] = [{ parent: { key: `text-${client}` }, content: { kind: 'string', text: 'a' } }];
    for (let clock = 1; clock < 110_000; clock++) items.push({ rightOrigin: { client, clock: clock - 1 }, content: { kind: 'string', text: 'a' } });
    return craftUpdate(client, 0, items);
  },
  // A map per entry: a shared type and a map entry for about 10 encoded bytes.
  maps: (client) =>
    craftUpdate(
      client,
      0,
      Array.from({ length: 55_000 }, (_, i) => ({ parent: { key: `maps-${client}` }, parentSub: String(i), content: { kind: 'map' } })),
    ),
  // Empty objects: 2 encoded bytes each, dozens of bytes of heap.
  objects: (client) => craftUpdate(client, 0, [{ parent: { key: `objects-${client}` }, content: { kind: 'any', values: Array.from({ length: 480_000 }, () => ({})) } }]),
};

describe('memory bounds (a server with a 512 MB heap)', function () {
  this.timeout(120_000);
  let child: ChildProcess;
  let directory: string;
  let url: string;
  const clients = new ClientPool();

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'symphony-heap-'));
    child = spawn(process.execPath, ['--import', 'tsx', 'test/core/fixtures/heap-limited-server.ts', directory], {
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=512' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const { port } = JSON.parse(line.toString()) as { port: number };
    url = `ws://127.0.0.1:${port}/collab`;
    child.once('exit', (code, signal) => {
      if (code !== 0) process.stderr.write(`heap-limited server exited with ${code ?? signal}:\n${stderr.slice(-2_000)}\n`);
    });
  });

  after(async () => {
    clients.destroyAll();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(directory, { recursive: true, force: true });
  });

  it('survives one writer doing its worst in one room: the writer is closed with 4413, other rooms carry on', async () => {
    const writer = clients.open(url, 'calm');
    const reader = clients.open(url, 'calm');
    await Promise.all([writer.synced(), reader.synced()]);
    const closes = new Map<number, number>();
    const deadline = Date.now() + 60_000;
    let sentBytes = 0;
    let client = 1;
    const kinds = Object.values(attacks);
    // Keep attacking, one kind of message per connection and reconnecting after every close, until
    // the document is full and stays refused.
    for (let round = 0; Date.now() < deadline && (closes.get(CloseCode.documentTooLarge) ?? 0) < 6; round++) {
      const attacker = await rawClient(`${url}/victim`);
      const attack = kinds[round % kinds.length];
      for (let i = 0; i < 10 && attacker.socket.readyState === attacker.socket.OPEN; i++) {
        const message = syncUpdateFrame(attack(client++));
        sentBytes += message.byteLength;
        attacker.socket.send(message);
        await new Promise((resolve) => attacker.socket.once('close', resolve).once('pong', resolve).ping());
      }
      attacker.socket.close();
      const { code } = await attacker.closed;
      closes.set(code, (closes.get(code) ?? 0) + 1);
      assert.equal(child.exitCode, null, 'the server is alive');
    }
    assert.ok((closes.get(CloseCode.documentTooLarge) ?? 0) >= 6, `the writer was closed with 4413 (closes: ${JSON.stringify([...closes])}, ${sentBytes} bytes sent)`);
    assert.ok((closes.get(CloseCode.missingDependencies) ?? 0) > 0, 'deletions of unknown structs were dropped');
    assert.equal(closes.get(CloseCode.messageTooBig), undefined, 'every attack fits in one message');
    writer.doc.getArray('log').push(['after the attack']);
    await waitFor(() => reader.doc.getArray('log').length === 1, 'the calm room still relays', 10_000);
    const other = clients.open(url, 'another-room');
    await other.synced();
    assert.equal(child.exitCode, null, 'the server is alive');
  });
});
