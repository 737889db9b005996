import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import { Redis } from 'ioredis';
import S3rver from 's3rver';
import { ensureRegistryTable } from '../../../lib/cluster/index.js';
import { freePort } from '../../support/example-process.js';
import { waitFor } from '../../support/wait-for.js';

// The SDK warns about Node 20 on every client; these tests know.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const BUCKET = 'symphony-test';
export const TABLE = 'symphony-rooms';

/** Every child process a test started, killed on exit even if a test crashes mid-way. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/**
 * A private `redis-server` (never the machine's shared one), with the persistence settings cluster
 * mode documents: append-only file, fsync on every write, no eviction. It can be killed and
 * restarted on the same port and data directory.
 */
export class RedisProcess {
  readonly url: string;
  private child: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly directory: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<RedisProcess> {
    const redis = new RedisProcess(await freePort(), await mkdtemp(join(tmpdir(), 'symphony-redis-')));
    await redis.restart();
    return redis;
  }

  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction', '--dir', this.directory],
      { stdio: 'ignore' },
    );
    track(child);
    this.child = child;
    const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await waitFor(
        async () => {
          try {
            if (probe.status !== 'ready') await probe.connect();
            return (await probe.ping()) === 'PONG';
          } catch {
            probe.disconnect();
            return false;
          }
        },
        `redis-server on port ${this.port}`,
        10_000,
      );
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: no goodbye, as a crashed or rebooted Redis. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** s3rver (S3) and dynalite (DynamoDB) on free ports; S3 can be taken down and brought back. */
export class AwsStandIns {
  private s3: S3rver | null = null;
  private dynamo: Server | null = null;

  private constructor(
    readonly s3Port: number,
    readonly dynamoPort: number,
    private readonly directory: string,
  ) {}

  static async start(): Promise<AwsStandIns> {
    const standIns = new AwsStandIns(await freePort(), await freePort(), await mkdtemp(join(tmpdir(), 'symphony-s3-')));
    await standIns.startS3();
    const server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(standIns.dynamoPort, '127.0.0.1', () => resolve()));
    standIns.dynamo = server;
    const client = standIns.dynamoClient();
    try {
      await ensureRegistryTable(client, TABLE);
    } finally {
      client.destroy();
    }
    return standIns;
  }

  /** The variables a node (or this process's SDK clients) needs to use the stand-ins. */
  get env(): Record<string, string> {
    return {
      AWS_REGION: 'us-east-1',
      // s3rver's fixed credentials; dynalite accepts any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${this.s3Port}`,
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${this.dynamoPort}`,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  async startS3(): Promise<void> {
    if (this.s3) return;
    const s3 = new S3rver({ port: this.s3Port, address: '127.0.0.1', silent: true, directory: this.directory, configureBuckets: [{ name: BUCKET }] });
    await s3.run();
    this.s3 = s3;
  }

  /** S3 becomes unreachable (connection refused) until `startS3`. Objects are kept. */
  async stopS3(): Promise<void> {
    const s3 = this.s3;
    this.s3 = null;
    if (!s3) return;
    const closed = s3.close();
    // Cut open keep-alive connections too, as an outage would.
    s3.httpServer?.closeAllConnections();
    await closed;
  }

  dynamoClient(): DynamoDBClient {
    return new DynamoDBClient({ endpoint: `http://127.0.0.1:${this.dynamoPort}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  }

  /** A client of s3rver, or of a proxy in front of it at `endpoint`. */
  s3Client(endpoint = `http://127.0.0.1:${this.s3Port}`): S3Client {
    return new S3Client({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async stop(): Promise<void> {
    await this.stopS3();
    const dynamo = this.dynamo;
    this.dynamo = null;
    if (dynamo) await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    await rm(this.directory, { recursive: true, force: true });
  }
}

/** A key prefix no other test run shares. */
export function uniquePrefix(): string {
  return `symphony-test-${randomBytes(4).toString('hex')}:`;
}
