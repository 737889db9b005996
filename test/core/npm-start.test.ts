import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, silentLogger } from '../../lib/index.js';
import * as Y from 'yjs';
import { stockClient } from '../support/clients.js';
import { freePort } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';

/** The pids whose parent is `parentPid`, read from /proc. */
function childPids(parentPid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (in parentheses) may hold spaces: the fields after it are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === parentPid) children.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return children;
}

/** `pid`'s children, their children, and so on. */
function descendantPids(pid: number): number[] {
  return childPids(pid).flatMap((child) => [child, ...descendantPids(child)]);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

for (const script of ['start', 'start:koa'] as const) {
  describe(`npm run ${script}`, function () {
    this.timeout(60_000);

    let npm: ChildProcess;
    let dataDirectory: string;
    let port: number;
    let log = '';
    /** Every process `npm run` started, for the cleanup of a failed run. */
    let started: number[] = [];

    before(async () => {
      dataDirectory = await mkdtemp(join(tmpdir(), 'symphony-npm-start-'));
      port = await freePort();
      npm = spawn('npm', ['run', script], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SYMPHONY_DATA_DIR: dataDirectory, SYMPHONY_ADMIN_TOKEN: 'npm-start-test' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      npm.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      npm.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      await waitFor(
        async () => {
          if (npm.exitCode !== null) throw new Error(`npm run ${script} exited with ${npm.exitCode}:\n${log}`);
          return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status === 200;
        },
        `npm run ${script} answers /healthz`,
        40_000,
      );
    });

    after(async () => {
      for (const pid of [npm.pid!, ...started]) {
        if (isRunning(pid)) process.kill(pid, 'SIGKILL');
      }
      await rm(dataDirectory, { recursive: true, force: true });
    });

    it('stops the server gracefully when npm itself receives SIGTERM', async () => {
      const client = stockClient(`ws://127.0.0.1:${port}/collab`, 'signalled');
      await client.synced();
      client.doc.getMap('shapes').set('a', 'circle');
      await waitFor(async () => (await filesUnder(dataDirectory)).some((name) => name.startsWith('journal-')), 'the update is journaled');
      client.destroy();

      started = descendantPids(npm.pid!);
      assert.ok(started.length > 0, 'npm started the server');
      const exited = once(npm, 'exit');
      npm.kill('SIGTERM');
      const signalledAt = Date.now();
      await exited;
      await waitFor(() => started.every((pid) => !isRunning(pid)), 'every process npm started is gone', 10_000);
      const stopMs = Date.now() - signalledAt;

      assert.equal(await portAccepts(port), false, 'nothing listens on the port');
      assert.ok(stopMs < 10_000, `stopped within 10 s, took ${stopMs} ms`);
      assert.match(log, /"msg":"stopped"/, 'the graceful shutdown ran to its end');
      assert.ok((await filesUnder(dataDirectory)).includes('snapshot.bin'), 'the room was checkpointed on the way out');

      const store = new FileStore({ directory: dataDirectory, logger: silentLogger });
      const stored = new Y.Doc();
      Y.applyUpdate(stored, (await store.load('signalled'))!);
      assert.equal(stored.getMap('shapes').get('a'), 'circle');
      await store.close();
    });
  });
}
