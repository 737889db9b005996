import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ClientPool } from '../support/clients.js';
import { freePort } from '../support/example-process.js';
import { waitFor } from '../support/wait-for.js';
import { COMPILERS, createApp, ensureBuilt, pack, PACKAGE_NAME, repositoryRoot, type AppFramework, type PackedApp, type PackedTarball } from './packed-app.js';

const FRAMEWORKS: readonly AppFramework[] = [
  { name: 'express', packages: ['express@5', '@types/express@5'] },
  { name: 'koa', packages: ['koa@3', '@types/koa@3'] },
];

/**
 * How a refused upgrade ends: the close code the socket gets (Symphony accepts refused browsers' sockets
 * and closes them with 4401/4403, so the refusal is visible), or the HTTP status it is answered with.
 */
function refusal(url: string): Promise<{ closeCode: number } | { status: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('close', (code) => resolve({ closeCode: code }));
    socket.once('error', reject);
  });
}

describe('the published package', function () {
  // Packing, two installs from the npm cache (the registry only for what is missing) and eight
  // compilations: under a minute on two idle cores.
  this.timeout(240_000);
  let workDirectory: string;
  let tarball: PackedTarball;
  const apps = new Map<AppFramework['name'], PackedApp>();

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'symphony-pack-'));
    await ensureBuilt();
    tarball = await pack(workDirectory);
    const created = await Promise.all(FRAMEWORKS.map((framework) => createApp(join(workDirectory, `${framework.name}-app`), tarball.path, framework)));
    for (const app of created) apps.set(app.framework.name, app);
  });

  after(async () => {
    if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
  });

  it(`is named ${PACKAGE_NAME} and ships what every export names, its LICENSE and CHANGELOG`, async () => {
    const manifest = JSON.parse(await readFile(join(repositoryRoot, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, { types: string; default: string }>;
    };
    assert.equal(manifest.name, PACKAGE_NAME);
    assert.match(tarball.path, new RegExp(`${PACKAGE_NAME}-\\d+\\.\\d+\\.\\d+\\.tgz$`));
    assert.deepEqual(Object.keys(manifest.exports), ['.', './express', './koa', './client', './cdk', './cluster']);
    const shipped = new Set(tarball.files);
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const file of [target.types, target.default]) assert.ok(shipped.has(file.replace(/^\.\//, '')), `${subpath} names ${file}, which the tarball lacks`);
    }
    for (const file of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) assert.ok(shipped.has(file), `the tarball lacks ${file}`);
  });

  it('documents in its API reference exactly the modules it exports', async () => {
    const manifest = JSON.parse(await readFile(join(repositoryRoot, 'package.json'), 'utf8')) as { exports: Record<string, { types: string }> };
    const typedoc = JSON.parse(await readFile(join(repositoryRoot, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const exportedSources = Object.values(manifest.exports).map((target) => target.types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts'));
    assert.deepEqual([...typedoc.entryPoints].sort(), exportedSources.sort());
  });

  for (const framework of FRAMEWORKS) {
    describe(`in a new ${framework.name} app`, () => {
      it('installs without a warning: no install script to approve, no peer left unmet', () => {
        assert.doesNotMatch(apps.get(framework.name)!.installOutput, /warn/i);
      });

      for (const compiler of COMPILERS) {
        it(`type-checks the README's ${framework.name} snippet with ${compiler.name} (strict, module nodenext, no "types" listed)`, async () => {
          const app = apps.get(framework.name)!;
          // With 5.9 the check is the app's build, which the run below reuses.
          await (compiler === COMPILERS[0] ? app.build() : app.typeCheck(compiler, 'tsconfig.json'));
        });

        it(`type-checks a module that imports only ${PACKAGE_NAME} with ${compiler.name}`, async () => {
          await apps.get(framework.name)!.typeCheck(compiler, 'tsconfig.core-only.json');
        });
      }

      it("runs the README's snippet: a stock provider syncs through it, a wrong token is refused, SIGTERM stops it", async () => {
        const app = apps.get(framework.name)!;
        await app.build();
        const port = await freePort();
        const server: ChildProcess = spawn(process.execPath, ['build/server.js'], {
          cwd: app.directory,
          env: { ...process.env, PORT: String(port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let log = '';
        server.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
        server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
        const exited = once(server, 'exit');
        const clients = new ClientPool();
        try {
          await waitFor(
            async () => {
              if (server.exitCode !== null) throw new Error(`the app exited with ${server.exitCode}:\n${log}`);
              return fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.status === 200, () => false);
            },
            `the ${framework.name} app answers /healthz`,
            20_000,
          );

          const collab = `ws://127.0.0.1:${port}/collab`;
          const writer = clients.open(collab, 'board-42', { params: { token: 'editor-token' } });
          const reader = clients.open(collab, 'board-42', { params: { token: 'editor-token' } });
          await Promise.all([writer.synced(), reader.synced()]);
          writer.doc.getMap('shapes').set('s1', { type: 'rect', x: 10, y: 10 });
          await waitFor(() => reader.doc.getMap('shapes').has('s1'), 'the reader receives the writer\'s shape');
          assert.deepEqual(reader.doc.getMap('shapes').get('s1'), { type: 'rect', x: 10, y: 10 });

          assert.deepEqual(await refusal(`${collab}/board-42?token=wrong`), { closeCode: 4401 });

          clients.destroyAll();
          server.kill('SIGTERM');
          await waitFor(() => server.exitCode !== null || server.signalCode !== null, 'the app exits after SIGTERM', 15_000);
          assert.deepEqual({ code: server.exitCode, signal: server.signalCode }, { code: 0, signal: null }, `the app did not stop cleanly on SIGTERM:\n${log}`);
        } finally {
          clients.destroyAll();
          if (server.exitCode === null && server.signalCode === null) {
            server.kill('SIGKILL');
            await exited;
          }
        }
      });
    });
  }
});
