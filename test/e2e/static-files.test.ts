import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWhiteboard } from '../../examples/shared/whiteboard/build.js';
import { startExample, type ExampleProcess } from '../support/example-process.js';

/** A GET with the path sent exactly as given (fetch would normalise `..` away). */
function rawGet(port: number, path: string): Promise<{ status: number; contentType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method: 'GET' }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

for (const name of ['express', 'koa'] as const) {
  describe(`the ${name} example serves the whiteboard`, function () {
    this.timeout(30_000);
    let example: ExampleProcess;
    let dataDirectory: string;

    before(async () => {
      await buildWhiteboard({ ifMissing: true });
      dataDirectory = mkdtempSync(join(tmpdir(), `symphony-${name}-static-`));
      example = await startExample(name, { SYMPHONY_DATA_DIR: dataDirectory });
    });

    after(async () => {
      await example?.stop();
      if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
    });

    it('answers / with the page, and its script, styles and service worker with their types', async () => {
      const page = await rawGet(example.port, '/?room=lobby');
      assert.equal(page.status, 200);
      assert.match(page.contentType ?? '', /^text\/html/);
      assert.match(page.body, /<nav class="toolbar"/);
      for (const [path, type] of [
        ['/build/whiteboard.js', /javascript/],
        ['/whiteboard.css', /^text\/css/],
        ['/sw.js', /javascript/],
      ] as const) {
        const response = await rawGet(example.port, path);
        assert.equal(response.status, 200, path);
        assert.match(response.contentType ?? '', type, path);
      }
    });

    it('keeps the host app\'s own routes and never serves files outside the page\'s folder', async () => {
      assert.equal((await rawGet(example.port, '/api/hello')).status, 200);
      for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
        const response = await rawGet(example.port, path);
        assert.equal(response.status, 404, path);
        assert.doesNotMatch(response.body, /"name": "symphony-collab"/, path);
      }
    });
  });
}
