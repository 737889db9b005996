import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { TestCluster } from './support/cluster.js';
import { track } from './support/infrastructure.js';

/** Runs `symphony-setup` (from source) against the stand-ins; resolves with its exit code and output. */
async function runSetup(cluster: TestCluster, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../lib/cluster/setup-cli.ts', import.meta.url)), ...args], {
    env: { ...process.env, ...cluster.aws.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('cluster start-up checks: a misconfigured node fails fast', function () {
  this.timeout(60_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' || process.env.TEST_SHOW_LOGS) console.error(cluster.logs());
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Starts a node that is expected to fail; resolves with its exit code, output and how long it took. */
  async function failingNode(env: Record<string, string>): Promise<{ code: number | null; output: string; elapsedMs: number }> {
    const started = Date.now();
    const node = await cluster.spawnNode(env);
    const code = await node.exit();
    return { code, output: node.log(), elapsedMs: Date.now() - started };
  }

  it('exits non-zero within seconds when the DynamoDB table does not exist, naming it and how to create it', async () => {
    const { code, output, elapsedMs } = await failingNode({ SYMPHONY_DYNAMODB_TABLE: 'no-such-registry' });
    assert.notEqual(code, 0);
    assert.ok(elapsedMs < 10_000, `exited after ${elapsedMs} ms`);
    assert.match(output, /DynamoDB table "no-such-registry" \(SYMPHONY_DYNAMODB_TABLE\) does not exist/);
    assert.match(output, /npx symphony-setup --table no-such-registry/);
    assert.match(output, /SymphonyService CDK construct/);
  });

  it('exits non-zero within seconds when the S3 bucket does not exist, naming it and how to create it', async () => {
    const { code, output, elapsedMs } = await failingNode({ SYMPHONY_S3_BUCKET: 'no-such-documents' });
    assert.notEqual(code, 0);
    assert.ok(elapsedMs < 10_000, `exited after ${elapsedMs} ms`);
    assert.match(output, /S3 bucket "no-such-documents" \(SYMPHONY_S3_BUCKET\) does not exist/);
    assert.match(output, /npx symphony-setup --bucket no-such-documents/);
  });

  it('exits non-zero within seconds when DynamoDB does not answer at all, naming the table', async () => {
    const { code, output, elapsedMs } = await failingNode({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9' });
    assert.notEqual(code, 0);
    assert.ok(elapsedMs < 15_000, `exited after ${elapsedMs} ms`);
    assert.match(output, /DynamoDB table "symphony-rooms" \(SYMPHONY_DYNAMODB_TABLE\) could not be reached/);
  });

  it('symphony-setup creates the table with the documented schema and the bucket, and a node then starts', async () => {
    const created = await runSetup(cluster, ['--table', 'made-by-setup', '--bucket', 'made-by-setup']);
    assert.equal(created.code, 0, created.output);
    assert.match(created.output, /DynamoDB table "made-by-setup": created/);
    assert.match(created.output, /S3 bucket "made-by-setup": created/);
    const client = cluster.aws.dynamoClient();
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'made-by-setup' }));
      assert.deepEqual(Table?.KeySchema, [
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'node', KeyType: 'RANGE' },
      ]);
    } finally {
      client.destroy();
    }
    const again = await runSetup(cluster, ['--table', 'made-by-setup', '--bucket', 'made-by-setup']);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, /DynamoDB table "made-by-setup": existed/);
    const node = await cluster.startNode({ SYMPHONY_DYNAMODB_TABLE: 'made-by-setup', SYMPHONY_S3_BUCKET: 'made-by-setup' });
    assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
  });

  it('symphony-setup refuses to run without a table or a bucket to create', async () => {
    const { code, output } = await runSetup(cluster, []);
    assert.equal(code, 2);
    assert.match(output, /Nothing to create/);
  });
});
