import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { attachSymphony, AuthenticationError, ConfigurationError, createJsonLogger, MemoryStore, silentLogger, type AuthResult } from '../../lib/index.js';
import { ClientPool, rawClient, upgradeStatus } from '../support/clients.js';
import { rawExchange, upgradeHeaders } from '../support/raw-http.js';
import { startSymphony, type RunningSymphony } from '../support/symphony-server.js';
import { waitFor } from '../support/wait-for.js';

/** A promise the test resolves when it chooses: a hook or a store that hangs until then. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Opens a WebSocket and resolves with the close code, or with `open` if it opened and stayed open. */
function attempt(url: string, options: WebSocket.ClientOptions = {}): Promise<{ socket: WebSocket; outcome: 'open' | number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, options);
    socket.on('error', () => undefined);
    socket.once('open', () => resolve({ socket, outcome: 'open' }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ socket, outcome: response.statusCode ?? 0 });
      socket.terminate();
    });
  });
}

describe('the handshake', () => {
  const clients = new ClientPool();
  after(() => clients.destroyAll());

  describe('origins (cross-site WebSocket hijacking)', () => {
    let server: RunningSymphony;
    let authenticateCalls = 0;
    const lines: Record<string, unknown>[] = [];

    before(async () => {
      server = await startSymphony({
        logger: createJsonLogger({ write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }),
        authenticate: () => {
          authenticateCalls++;
          return { userId: 'cookie-user' };
        },
      });
    });
    after(() => server.close());

    it('refuses a page on another site with 403 before authenticate runs, and logs the option to change', async () => {
      const before = authenticateCalls;
      assert.equal(await upgradeStatusWithOrigin(`${server.url}/victim`, 'https://evil.example'), 403);
      assert.equal(authenticateCalls, before, 'authenticate never ran');
      assert.equal(server.symphony.room('victim'), undefined, 'the room was not loaded');
      const line = lines.find((entry) => typeof entry.msg === 'string' && entry.msg.includes('allowedOrigins'));
      assert.ok(line, 'one log line names the option');
      assert.equal(line.origin, 'https://evil.example');
    });

    it('accepts a page of the same origin (the origin names the Host) and a client that sends no Origin', async () => {
      const sameOrigin = await attempt(`${server.url}/same`, { origin: `http://127.0.0.1:${server.port}` });
      assert.equal(sameOrigin.outcome, 'open');
      sameOrigin.socket.close();
      const noOrigin = await attempt(`${server.url}/same`);
      assert.equal(noOrigin.outcome, 'open');
      noOrigin.socket.close();
    });

    it('compares the origin with the Host header by host name and port, as a browser writes them', async () => {
      const cases: [host: string, origin: string, outcome: 'open' | number][] = [
        ['app.example.com', 'https://app.example.com', 'open'],
        ['App.Example.com', 'https://app.example.com', 'open'],
        ['app.example.com:443', 'https://app.example.com', 'open'],
        ['app.example.com:8443', 'https://app.example.com:8443', 'open'],
        ['app.example.com:8443', 'https://app.example.com', 403],
        ['app.example.com', 'https://app.example.com.evil.example', 403],
        ['app.example.com', 'https://evil.example', 403],
      ];
      for (const [host, origin, expected] of cases) {
        const { socket, outcome } = await attempt(`${server.url}/hosts`, { origin, headers: { host } });
        socket.terminate();
        assert.equal(outcome, expected, `Host ${host}, Origin ${origin}`);
      }
    });

    it('refuses an origin on the same host name but another port, and a `null` origin', async () => {
      assert.equal(await upgradeStatusWithOrigin(`${server.url}/port`, `http://127.0.0.1:${server.port + 1}`), 403);
      assert.equal(await upgradeStatusWithOrigin(`${server.url}/null`, 'null'), 403);
    });

    it('accepts the origins listed in allowedOrigins besides its own, and every origin with "*"', async () => {
      const listed = await startSymphony({ allowedOrigins: ['https://app.example.com'] });
      const open = await startSymphony({ allowedOrigins: '*' });
      try {
        const app = await attempt(`${listed.url}/room`, { origin: 'https://app.example.com' });
        assert.equal(app.outcome, 'open');
        app.socket.close();
        assert.equal(await upgradeStatusWithOrigin(`${listed.url}/room`, 'https://evil.example'), 403);
        const same = await attempt(`${listed.url}/room`, { origin: `http://127.0.0.1:${listed.port}` });
        assert.equal(same.outcome, 'open');
        same.socket.close();
        const any = await attempt(`${open.url}/room`, { origin: 'https://anywhere.example' });
        assert.equal(any.outcome, 'open');
        any.socket.close();
      } finally {
        await listed.close();
        await open.close();
      }
    });

    it('throws a ConfigurationError for an allowedOrigins entry that is not an origin', async () => {
      await assert.rejects(startSymphony({ allowedOrigins: ['https://app.example.com/editor'] }), {
        name: ConfigurationError.name,
        message: '"allowedOrigins" entries must be origins like "https://app.example.com" (scheme, host and port only), got "https://app.example.com/editor"',
      });
    });
  });

  describe('configuration', () => {
    const invalid: [string, Record<string, unknown>, string][] = [
      ['allowedOrigins', { allowedOrigins: 'https://app.example.com' }, `"allowedOrigins" must be an array of origins or '*', got "https://app.example.com"`],
      ['allowedOrigins', { allowedOrigins: ['file:///index.html'] }, '"allowedOrigins" entries must be origins like "https://app.example.com" (scheme, host and port only), got "file:///index.html"'],
      ['handleUnknownUpgrades', { handleUnknownUpgrades: 'drop' }, `"handleUnknownUpgrades" must be 'refuse' or 'ignore', got "drop"`],
      ['refuseWithCloseCode', { refuseWithCloseCode: 'yes' }, '"refuseWithCloseCode" must be a boolean, got "yes"'],
      ['trustProxy', { trustProxy: -1 }, '"trustProxy" must be a non-negative integer, got -1'],
      ['limits.authenticateTimeoutMs', { limits: { authenticateTimeoutMs: 0 } }, '"limits.authenticateTimeoutMs" must be a positive integer, got 0'],
      ['limits.maxPendingHandshakes', { limits: { maxPendingHandshakes: 1.5 } }, '"limits.maxPendingHandshakes" must be a positive integer, got 1.5'],
      ['limits.maxConnectionsPerAddress', { limits: { maxConnectionsPerAddress: 0 } }, '"limits.maxConnectionsPerAddress" must be a positive integer, got 0'],
    ];
    for (const [name, options, message] of invalid) {
      it(`throws a ConfigurationError naming ${name} for ${JSON.stringify(options)}`, () => {
        assert.throws(() => attachSymphony(createServer(), { store: new MemoryStore(), logger: silentLogger, ...options }), { name: ConfigurationError.name, message });
      });
    }
  });

  describe('upgrades nobody takes', () => {
    let server: RunningSymphony;
    before(async () => {
      server = await startSymphony();
    });
    after(() => server.close());

    it('answers 404 and closes 200 upgrades to other paths, to the bare path and in absolute form, promptly', async () => {
      const paths = ['/', '/collab', '/socket.io/?EIO=4', `http://127.0.0.1:${server.port}/collab/room`, 'http://evil.example/'];
      const started = Date.now();
      const exchanges = await Promise.all(Array.from({ length: 200 }, (_, index) => rawExchange(server.port, upgradeHeaders(paths[index % paths.length], server.port), 3_000)));
      assert.deepEqual(new Set(exchanges.map((exchange) => exchange.status)), new Set([404]));
      assert.ok(Date.now() - started < 3_000, 'all of them were closed within 3 s');
    });

    it('survives clients that reset their sockets right after an upgrade to another path', async () => {
      await Promise.all(
        Array.from(
          { length: 50 },
          () =>
            new Promise<void>((resolve) => {
              const socket = connect(server.port, '127.0.0.1', () => {
                socket.write(upgradeHeaders('/elsewhere', server.port), () => {
                  socket.resetAndDestroy();
                  resolve();
                });
              });
              socket.on('error', () => resolve());
            }),
        ),
      );
      const client = clients.open(server.url, 'after-resets');
      await client.synced();
      client.destroy();
    });

    it('leaves an upgrade to the host app when one of its own listeners takes it', async () => {
      const appServer = createServer();
      const appSockets = new WebSocketServer({ noServer: true });
      const running = await startSymphony({}, appServer);
      appServer.on('upgrade', (request, socket, head) => {
        if (request.url === '/app-socket') appSockets.handleUpgrade(request, socket, head, (ws) => ws.send('hello from the app'));
      });
      try {
        const socket = new WebSocket(`ws://127.0.0.1:${running.port}/app-socket`);
        const message = await new Promise<string>((resolve, reject) => {
          socket.once('message', (data: Buffer) => resolve(data.toString()));
          socket.once('error', reject);
        });
        assert.equal(message, 'hello from the app');
        socket.close();
      } finally {
        appSockets.close();
        await running.close();
      }
    });

    it('never answers a socket that a listener registered ahead of Symphony already took', async () => {
      const appServer = createServer();
      const appSockets = new WebSocketServer({ noServer: true });
      const running = await startSymphony({}, appServer);
      appServer.prependListener('upgrade', (request, socket, head) => {
        if (request.url === '/first') appSockets.handleUpgrade(request, socket, head, (ws) => ws.on('message', (data: Buffer) => ws.send(data)));
      });
      try {
        const socket = new WebSocket(`ws://127.0.0.1:${running.port}/first`);
        await new Promise((resolve, reject) => {
          socket.once('open', resolve);
          socket.once('error', reject);
        });
        // A stray 404 written into the stream would arrive as a broken frame and close the socket.
        socket.send('echo');
        const echoed = await new Promise<string>((resolve, reject) => {
          socket.once('message', (data: Buffer) => resolve(data.toString()));
          socket.once('close', (code) => reject(new Error(`closed with ${code}`)));
        });
        assert.equal(echoed, 'echo');
        socket.close();
      } finally {
        appSockets.close();
        await running.close();
      }
    });

    it("leaves unknown upgrades open with handleUnknownUpgrades: 'ignore', for apps that take them later", async () => {
      const appServer = createServer();
      const appSockets = new WebSocketServer({ noServer: true });
      const running = await startSymphony({ handleUnknownUpgrades: 'ignore' }, appServer);
      appServer.on('upgrade', (request, socket, head) => {
        // Takes the socket only after a real delay, as an app checking a session store would.
        setTimeout(() => appSockets.handleUpgrade(request, socket, head, (ws) => ws.send('late')), 50);
      });
      try {
        const socket = new WebSocket(`ws://127.0.0.1:${running.port}/late`);
        const message = await new Promise<string>((resolve, reject) => {
          socket.once('message', (data: Buffer) => resolve(data.toString()));
          socket.once('error', reject);
        });
        assert.equal(message, 'late');
        socket.close();
      } finally {
        appSockets.close();
        await running.close();
      }
    });
  });

  describe('invalid handshakes (checked before the room is taken)', () => {
    let server: RunningSymphony;
    let authenticateCalls = 0;
    before(async () => {
      server = await startSymphony({
        unloadGraceMs: 0,
        authenticate: () => {
          authenticateCalls++;
          return { userId: 'u' };
        },
      });
    });
    after(() => server.close());

    it('refuses an upgrade without Sec-WebSocket-Key with 400, without authenticating or loading the room', async () => {
      const exchange = await rawExchange(server.port, upgradeHeaders('/collab/keyless', server.port, { 'Sec-WebSocket-Key': '' }));
      assert.equal(exchange.status, 400);
      assert.equal(authenticateCalls, 0);
      await waitFor(() => server.symphony.room('keyless') === undefined, 'the room is not loaded');
    });

    it('refuses an unsupported Sec-WebSocket-Version with 400 and the versions it speaks', async () => {
      const exchange = await rawExchange(server.port, upgradeHeaders('/collab/old', server.port, { 'Sec-WebSocket-Version': '12' }));
      assert.equal(exchange.status, 400);
      assert.match(exchange.response, /Sec-WebSocket-Version: 13, 8/);
      assert.equal(server.symphony.room('old'), undefined);
    });

    it('refuses a POST upgrade with 405 and counts every refusal', async () => {
      const before = server.symphony.stats().connectionsRejected;
      const exchange = await rawExchange(server.port, upgradeHeaders('/collab/post', server.port).replace(/^GET/, 'POST'));
      assert.equal(exchange.status, 405);
      assert.equal(server.symphony.stats().connectionsRejected, before + 1);
    });

    it('unloads a room after a valid join and leave, and shuts down, after invalid handshakes', async () => {
      await rawExchange(server.port, upgradeHeaders('/collab/after-invalid', server.port, { 'Sec-WebSocket-Key': 'short' }));
      const client = clients.open(server.url, 'after-invalid');
      await client.synced();
      client.destroy();
      await waitFor(() => server.symphony.room('after-invalid') === undefined, 'the room unloads');
    });
  });

  describe('timeouts and caps', () => {
    it('refuses with 503 when authenticate takes longer than limits.authenticateTimeoutMs', async () => {
      const hang = gate();
      const server = await startSymphony({ limits: { authenticateTimeoutMs: 200 }, authenticate: () => hang.wait.then(() => ({ userId: 'late' })) });
      try {
        const started = Date.now();
        assert.equal(await upgradeStatus(`${server.url}/slow-auth`), 503);
        assert.ok(Date.now() - started < 2_000);
        assert.equal(server.symphony.room('slow-auth'), undefined);
      } finally {
        hang.open();
        await server.close();
      }
    });

    it('refuses with 503 when the room takes longer than limits.roomLoadTimeoutMs, and unloads it once the load finishes', async () => {
      const hang = gate();
      class SlowStore extends MemoryStore {
        override async load(room: string): Promise<Uint8Array | null> {
          await hang.wait;
          return super.load(room);
        }
      }
      const server = await startSymphony({ store: new SlowStore(), unloadGraceMs: 0, limits: { roomLoadTimeoutMs: 200 } });
      try {
        assert.equal(await upgradeStatus(`${server.url}/slow-room`), 503);
        hang.open();
        await waitFor(() => server.symphony.room('slow-room') !== undefined, 'the load finishes');
        await waitFor(() => server.symphony.room('slow-room') === undefined, 'the room unloads: its hold was released');
      } finally {
        await server.close();
      }
    });

    it('releases the room when the client leaves while it loads', async () => {
      const hang = gate();
      class SlowStore extends MemoryStore {
        override async load(room: string): Promise<Uint8Array | null> {
          await hang.wait;
          return super.load(room);
        }
      }
      const server = await startSymphony({ store: new SlowStore(), unloadGraceMs: 0 });
      try {
        const leaving = new WebSocket(`${server.url}/left-early`);
        leaving.on('error', () => undefined);
        await waitFor(() => server.symphony.room('left-early') !== undefined, 'the load started');
        leaving.terminate();
        hang.open();
        await waitFor(() => server.symphony.room('left-early') === undefined, 'the room unloads');
      } finally {
        await server.close();
      }
    });

    it('refuses handshakes beyond limits.maxPendingHandshakes with 503 at once, and admits again when they finish', async () => {
      const hang = gate();
      const server = await startSymphony({ limits: { maxPendingHandshakes: 2 }, authenticate: () => hang.wait.then((): AuthResult => ({ userId: 'u' })) });
      try {
        const first = attempt(`${server.url}/busy`);
        const second = attempt(`${server.url}/busy`);
        await waitFor(async () => (await upgradeStatus(`${server.url}/busy`)) === 503, 'a third handshake is refused');
        hang.open();
        const opened = await Promise.all([first, second]);
        assert.deepEqual(
          opened.map(({ outcome }) => outcome),
          ['open', 'open'],
        );
        const third = await attempt(`${server.url}/busy`);
        assert.equal(third.outcome, 'open');
        for (const { socket } of [...opened, third]) socket.close();
      } finally {
        hang.open();
        await server.close();
      }
    });

    it('refuses more than limits.maxConnectionsPerAddress sockets from one address with 429', async () => {
      const server = await startSymphony({ limits: { maxConnectionsPerAddress: 2 } });
      try {
        const one = await attempt(`${server.url}/crowd`);
        const two = await attempt(`${server.url}/crowd`);
        assert.deepEqual([one.outcome, two.outcome], ['open', 'open']);
        assert.equal((await attempt(`${server.url}/crowd`)).outcome, 429);
        // A forwarded address proves nothing unless a proxy is trusted.
        assert.equal((await attempt(`${server.url}/crowd`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).outcome, 429);
        one.socket.close();
        await waitFor(async () => (await attempt(`${server.url}/crowd`)).outcome === 'open', 'a seat is free again');
        two.socket.close();
      } finally {
        await server.close();
      }
    });

    it('counts the address a trusted proxy forwarded with trustProxy', async () => {
      const server = await startSymphony({ trustProxy: 1, limits: { maxConnectionsPerAddress: 1 } });
      try {
        const viaProxy = (client: string) => attempt(`${server.url}/proxied`, { headers: { 'X-Forwarded-For': `10.0.0.1, ${client}` } });
        const alice = await viaProxy('198.51.100.1');
        const bob = await viaProxy('198.51.100.2');
        assert.deepEqual([alice.outcome, bob.outcome], ['open', 'open']);
        assert.equal((await viaProxy('198.51.100.1')).outcome, 429);
        await waitFor(() => server.symphony.connections('proxied').some((connection) => connection.remoteAddress === '198.51.100.2'), 'the dashboard shows the client');
        alice.socket.close();
        bob.socket.close();
      } finally {
        await server.close();
      }
    });
  });

  describe('refusals a client can read', () => {
    it('refuses an expired token (expiresAt in the past) with 4401', async () => {
      const server = await startSymphony({ authenticate: () => ({ userId: 'u', expiresAt: new Date(Date.now() - 1_000) }) });
      try {
        const client = await rawClient(`${server.url}/expired`);
        assert.deepEqual(await client.closed, { code: 4401, reason: 'credentials expired' });
      } finally {
        await server.close();
      }
    });

    it('cuts a long refusal message to the 123 bytes a close reason may hold', async () => {
      const server = await startSymphony({
        authenticate: () => {
          throw new AuthenticationError('é'.repeat(100), { status: 403 });
        },
      });
      try {
        const client = await rawClient(`${server.url}/long`);
        const { code, reason } = await client.closed;
        assert.equal(code, 4403);
        assert.equal(reason, 'é'.repeat(61));
      } finally {
        await server.close();
      }
    });
  });
});

/** The HTTP status a refused upgrade with an `Origin` header gets. */
async function upgradeStatusWithOrigin(url: string, origin: string): Promise<number> {
  const { outcome, socket } = await attempt(url, { origin });
  socket.terminate();
  if (outcome === 'open') throw new Error(`upgrade from ${origin} was accepted`);
  return outcome;
}
