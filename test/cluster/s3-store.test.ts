import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { S3Store } from '../../lib/cluster/index.js';
import { ConfigurationError } from '../../lib/index.js';
import { AwsStandIns, BUCKET } from './support/infrastructure.js';

describe('S3Store', function () {
  this.timeout(20_000);
  let aws: AwsStandIns;
  let store: S3Store;

  before(async () => {
    aws = await AwsStandIns.start();
    store = new S3Store({ bucket: BUCKET, prefix: 'test/', client: aws.s3Client() });
  });

  after(async () => {
    store?.client.destroy();
    await aws?.stop();
  });

  it('stores a Yjs state and loads it back byte for byte', async () => {
    const doc = new Y.Doc();
    doc.getText('text').insert(0, 'binary ✓ \u0000 safe');
    const state = Y.encodeStateAsUpdate(doc);
    await store.store('round-trip', state);
    assert.deepEqual(await store.load('round-trip'), state);
    doc.destroy();
  });

  it('loads null for a room that was never stored', async () => {
    assert.equal(await store.load('never-stored'), null);
  });

  it('keeps the latest checkpoint', async () => {
    await store.store('overwritten', new Uint8Array([1]));
    await store.store('overwritten', new Uint8Array([2, 2]));
    assert.deepEqual(await store.load('overwritten'), new Uint8Array([2, 2]));
  });

  it('maps any room name to a distinct, bounded key under the prefix', () => {
    const names = ['a/b', 'a_b', '../../etc/passwd', 'ünïcødé 🎉', 'x'.repeat(256), '%2F'];
    const keys = names.map((name) => store.key(name));
    assert.equal(new Set(keys).size, names.length);
    for (const key of keys) {
      assert.ok(key.startsWith('test/') && key.length < 200 && /^[\w/-]+\.ydoc$/.test(key), key);
    }
  });

  it('rejects (never answers "new room") when S3 is unreachable', async () => {
    await store.store('while-down', new Uint8Array([7]));
    await aws.stopS3();
    try {
      await assert.rejects(store.load('while-down'));
      await assert.rejects(store.store('while-down', new Uint8Array([8])));
    } finally {
      await aws.startS3();
    }
    assert.deepEqual(await store.load('while-down'), new Uint8Array([7]));
  });

  it('refuses a bucket name shorter than 3 characters', () => {
    assert.throws(() => new S3Store({ bucket: 'ab' }), ConfigurationError);
  });
});
