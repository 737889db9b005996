import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { frameworks, startDashboardServer, TOKEN, type DashboardServer } from './support.js';
import { waitFor } from '../support/wait-for.js';

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** GET with a bearer token, from a chosen loopback address (Linux answers on all of 127.0.0.0/8). */
function getStats(app: DashboardServer, token: string, fromAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: app.port, path: '/admin/api/stats', localAddress: fromAddress, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

for (const framework of frameworks) {
  describe(`dashboard failed authentications (${framework})`, () => {
    let app: DashboardServer;

    before(async () => {
      app = await startDashboardServer(framework, { dashboard: { failedAuthenticationWindowMs: 1_500 } });
    });
    after(() => app.close());

    it('answers 429 to an address after 20 failures in the window, even with the right token, and other addresses carry on', async () => {
      for (let attempt = 1; attempt <= 20; attempt++) {
        assert.equal((await getStats(app, `guess-${attempt}`, '127.0.0.2')).status, 401, `attempt ${attempt}`);
      }
      const limited = await getStats(app, 'guess-21', '127.0.0.2');
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.retryAfter) >= 1, `Retry-After: ${limited.retryAfter}`);
      // The credentials are not even looked at: guessing right would otherwise still tell.
      assert.equal((await getStats(app, TOKEN, '127.0.0.2')).status, 429);
      assert.equal((await getStats(app, TOKEN, '127.0.0.3')).status, 200);
      assert.equal((await getStats(app, 'wrong', '127.0.0.3')).status, 401);
    });

    it('lets the address try again once the window ended', async () => {
      await waitFor(async () => (await getStats(app, TOKEN, '127.0.0.2')).status === 200, 'the window ended', 5_000);
    });
  });
}
