import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createJsonLogger } from '../../lib/index.js';
import { MAX_FAILED_SECRETS_PER_ADDRESS, serveRoomState } from '../../lib/cluster/replication/state-handoff.js';

const SECRET = 'cluster-secret-0123456789abcdef';

/** GET the state route from a chosen loopback address (Linux answers on all of 127.0.0.0/8). */
function getState(port: number, secret: string, fromAddress: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/_symphony/rooms/board/state', localAddress: fromAddress, headers: { authorization: `Bearer ${secret}` } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('the internal state route', () => {
  let server: Server;
  let port: number;
  let restore: () => void;
  const logLines: { msg: string; level: number }[] = [];

  before(async () => {
    server = createServer((_request, response) => response.writeHead(200).end('host app'));
    const logger = createJsonLogger({ level: 'info', write: (line) => logLines.push(JSON.parse(line) as { msg: string; level: number }) });
    restore = serveRoomState(server, { secret: SECRET, logger, snapshot: () => ({ state: new Uint8Array([0, 0]), logPosition: 7 }), holds: () => true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    restore();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers 429 to an address after repeated wrong secrets, even with the right one, and logs once, not per request', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 50; attempt++) statuses.push((await getState(port, `guess-${attempt}`, '127.0.0.2')).status);
    assert.deepEqual(statuses, [...Array(MAX_FAILED_SECRETS_PER_ADDRESS).fill(401), ...Array(50 - MAX_FAILED_SECRETS_PER_ADDRESS).fill(429)]);
    const limited = await getState(port, SECRET, '127.0.0.2');
    assert.equal(limited.status, 429, 'the secret is not even checked');
    assert.ok(Number(limited.retryAfter) >= 1);
    // A peer at another address is served.
    assert.equal((await getState(port, SECRET, '127.0.0.3')).status, 200);
    const refusals = logLines.filter((line) => line.msg.startsWith('refused state requests'));
    assert.equal(refusals.length, 1, JSON.stringify(logLines));
  });
});
