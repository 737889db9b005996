/**
 * `npm run start:cluster`: cluster mode on a laptop. Three nodes of the Express example (ports
 * 3001–3003) behind a small load balancer on 3000, Redis from `REDIS_URL`, and in-process stand-ins
 * for S3 (s3rver) and DynamoDB (dynalite) keeping their data in `.symphony-data/cluster/`.
 * Open http://localhost:3000 in two browsers; `GET /api/cluster` (with the admin token the launcher
 * logs, or `SYMPHONY_ADMIN_TOKEN`) shows which node holds which room.
 * Ctrl-C stops everything (each node checkpoints and closes its sockets with 1012 first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { Redis } from 'ioredis';
import S3rver from 's3rver';
import { ensureRegistryTable } from '../../lib/cluster/index.js';
import { startBalancer } from './balancer.js';

// The SDK warns about Node 20 on every client it creates; the stand-ins do not care.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const port = Number(process.env.PORT ?? 3000);
const nodeCount = Number(process.env.CLUSTER_NODES ?? 3);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dataDirectory = resolve(process.env.SYMPHONY_DATA_DIR ?? '.symphony-data', 'cluster');
const bucket = 'symphony-local';
const table = 'symphony-local-rooms';
// Local stand-ins accept these fixed credentials (s3rver's defaults); nothing leaves the machine.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function log(message: string): void {
  process.stdout.write(`[cluster] ${message}\n`);
}

async function checkRedis(): Promise<void> {
  const probe = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at REDIS_URL=${redisUrl} (${(error as Error).message}); start redis-server or set REDIS_URL`);
  } finally {
    probe.disconnect();
  }
}

await checkRedis();
await mkdir(resolve(dataDirectory, 's3'), { recursive: true });
await mkdir(resolve(dataDirectory, 'dynamodb'), { recursive: true });

const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: resolve(dataDirectory, 's3'), configureBuckets: [{ name: bucket }] });
const s3Address: AddressInfo = await s3.run();
const dynamo = dynalite({ path: resolve(dataDirectory, 'dynamodb'), createTableMs: 0 });
await new Promise<void>((ready) => dynamo.listen(0, '127.0.0.1', () => ready()));
const dynamoPort = (dynamo.address() as AddressInfo).port;
const dynamoClient = new DynamoDBClient({ endpoint: `http://127.0.0.1:${dynamoPort}`, region: 'us-east-1', credentials });
await ensureRegistryTable(dynamoClient, table);
dynamoClient.destroy();
log(`S3 stand-in on 127.0.0.1:${s3Address.port}, DynamoDB stand-in on 127.0.0.1:${dynamoPort}, data in ${dataDirectory}`);

const secret = randomBytes(24).toString('hex');
// Every node must accept the same dashboard token (the nodes refuse to start without one).
const adminToken = process.env.SYMPHONY_ADMIN_TOKEN || randomBytes(18).toString('base64url');
const nodes: ChildProcess[] = [];
const backends: string[] = [];
for (let index = 1; index <= nodeCount; index++) {
  const nodePort = port + index;
  backends.push(`http://127.0.0.1:${nodePort}`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/express/server.ts'], {
    env: {
      ...process.env,
      PORT: String(nodePort),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      SYMPHONY_REDIS_PREFIX: 'symphony-local:',
      SYMPHONY_S3_BUCKET: bucket,
      SYMPHONY_DYNAMODB_TABLE: table,
      SYMPHONY_CLUSTER_SECRET: secret,
      SYMPHONY_ADMIN_TOKEN: adminToken,
      SYMPHONY_NODE_URL: `http://127.0.0.1:${nodePort}`,
      SYMPHONY_NODE_ID: `node-${index}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Address.port}`,
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamoPort}`,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[node-${index}] `;
  const relay = (chunk: Buffer) => process.stdout.write(chunk.toString().replace(/^(?=.)/gm, prefix));
  child.stdout?.on('data', relay);
  child.stderr?.on('data', relay);
  nodes.push(child);
}

const balancer = await startBalancer({
  backends,
  port,
  host: process.env.HOST ?? '127.0.0.1',
  onHealthChange: (backend, healthy) => log(`${backend} is ${healthy ? 'healthy' : 'out of rotation'}`),
});
log(`load balancer on http://localhost:${balancer.port} → ${backends.join(', ')}`);
log(`collaboration: ws://localhost:${balancer.port}/collab/<room>; cluster picture: http://localhost:${balancer.port}/api/cluster`);
log(`dashboard: http://localhost:${balancer.port}/admin/ and /api/cluster with the token ${adminToken}`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping the nodes (they checkpoint and close their sockets with 1012)`);
  await Promise.all(
    nodes.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  await balancer.close();
  await s3.close();
  await new Promise<void>((closed) => dynamo.close(() => closed()));
  log('stopped');
  process.exit(0);
}
// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a
// second signal without a listener would kill it before the nodes have stopped.
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// A node that dies on its own is reported, not restarted: that is what the cluster must survive.
for (const [index, child] of nodes.entries()) {
  child.once('exit', (code, signal) => {
    if (!stopping) log(`node-${index + 1} exited (${signal ?? code}); the others carry on`);
  });
}
