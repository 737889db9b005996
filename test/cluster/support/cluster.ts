import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import * as Y from 'yjs';
import { ClusterStore, DynamoDbRegistry, RedisBus, S3Store, type RoomEntry } from '../../../lib/cluster/index.js';
import { ClientPool, type StockClient } from '../../support/clients.js';
import { freePort } from '../../support/example-process.js';
import { waitFor } from '../../support/wait-for.js';
import { AwsStandIns, BUCKET, RedisProcess, TABLE, track, uniquePrefix } from './infrastructure.js';

export interface RoomSummary {
  readonly name: string;
  readonly connections: number;
  readonly unsaved: boolean;
}

/** One node process of the test cluster (`test/cluster/fixtures/node.ts`). */
export class ClusterNode {
  private output = '';
  private readonly exited: Promise<unknown>;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = once(child, 'exit');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get collabUrl(): string {
    return `ws://127.0.0.1:${this.port}/collab`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the node logged (warnings and errors by default). */
  log(): string {
    return this.output;
  }

  async rooms(): Promise<RoomSummary[]> {
    return (await (await fetch(`${this.url}/test/rooms`)).json()) as RoomSummary[];
  }

  async holds(room: string): Promise<boolean> {
    return (await this.rooms()).some((held) => held.name === room);
  }

  async loads(room: string): Promise<string[]> {
    const loads = (await (await fetch(`${this.url}/test/loads`)).json()) as { room: string; source: string }[];
    return loads.filter((load) => load.room === room).map((load) => load.source);
  }

  async checkpointFailures(room: string): Promise<number> {
    const failures = (await (await fetch(`${this.url}/test/checkpoint-failures`)).json()) as Record<string, number>;
    return failures[room] ?? 0;
  }

  async room(room: string): Promise<RoomSummary | undefined> {
    return (await this.rooms()).find((held) => held.name === room);
  }

  async dropIncoming(rate: number): Promise<void> {
    await fetch(`${this.url}/test/drop?rate=${rate}`, { method: 'POST' });
  }

  /** How many incoming channel messages this node dropped since it started. */
  async droppedMessages(): Promise<number> {
    return ((await (await fetch(`${this.url}/test/drop`)).json()) as { dropped: number }).dropped;
  }

  /** Resolves with the exit code once the process exited by itself. */
  async exit(): Promise<number | null> {
    await this.exited;
    return this.child.exitCode;
  }

  /** SIGTERM: graceful shutdown. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
    return this.child.exitCode;
  }

  /** SIGKILL: the process dies on the spot, as a crashed task. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * A test cluster: a private Redis, S3 and DynamoDB stand-ins, node processes on 127.0.0.1, and
 * direct access to what they share (the Redis log, the S3 objects, the registry) to check it.
 */
export class TestCluster {
  readonly prefix = uniquePrefix();
  readonly secret = randomBytes(16).toString('hex');
  readonly nodes: ClusterNode[] = [];
  readonly clients = new ClientPool();
  readonly redis: Redis;
  /** The same classes the nodes use, pointed at the same services, to inspect shared state. */
  readonly store: S3Store;
  readonly registry: DynamoDbRegistry;
  /** Reads rooms as a node that does not hold them does: S3 plus the Redis log. */
  readonly reader: ClusterStore;
  private readonly keys: RedisBus;
  private readonly dynamo: DynamoDBClient;
  private nodeCount = 0;

  private constructor(
    readonly redisServer: RedisProcess,
    readonly aws: AwsStandIns,
    private readonly nodeEnv: Record<string, string>,
  ) {
    this.redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
    this.store = new S3Store({ bucket: BUCKET, client: aws.s3Client() });
    this.dynamo = aws.dynamoClient();
    this.registry = new DynamoDbRegistry({ tableName: TABLE, client: this.dynamo, staleAfterMs: 1_500 });
    this.keys = new RedisBus({ url: redisServer.url, keyPrefix: this.prefix });
    this.reader = new ClusterStore(this.store, this.keys);
  }

  /** Starts the services; `nodeEnv` adds to (or overrides) every node's environment. */
  static async start(nodeEnv: Record<string, string> = {}): Promise<TestCluster> {
    const [redis, aws] = await Promise.all([RedisProcess.start(), AwsStandIns.start()]);
    const cluster = new TestCluster(redis, aws, nodeEnv);
    await cluster.keys.start('test-observer', { message() {}, resubscribed() {}, writable() {} });
    return cluster;
  }

  /** Starts node processes in parallel and waits until each answers /healthz. */
  async startNodes(count: number, env: Record<string, string> = {}): Promise<ClusterNode[]> {
    return Promise.all(Array.from({ length: count }, () => this.startNode(env)));
  }

  async startNode(env: Record<string, string> = {}): Promise<ClusterNode> {
    const node = await this.spawnNode(env);
    await waitFor(
      async () => {
        if (!node.running) throw new Error(`${node.name} exited with ${node.child.exitCode ?? node.child.signalCode}:\n${node.log()}`);
        try {
          return (await fetch(`${node.url}/healthz`)).status === 200;
        } catch {
          return false;
        }
      },
      `${node.name} answers /healthz`,
      30_000,
    );
    return node;
  }

  /** Starts a node process without waiting for it to answer (it may be meant to fail). */
  async spawnNode(env: Record<string, string> = {}): Promise<ClusterNode> {
    const port = await freePort();
    const name = `node-${++this.nodeCount}`;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/node.ts', import.meta.url))], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: {
        ...process.env,
        ...this.aws.env,
        PORT: String(port),
        REDIS_URL: this.redisServer.url,
        SYMPHONY_REDIS_PREFIX: this.prefix,
        SYMPHONY_S3_BUCKET: BUCKET,
        SYMPHONY_DYNAMODB_TABLE: TABLE,
        SYMPHONY_CLUSTER_SECRET: this.secret,
        SYMPHONY_NODE_URL: `http://127.0.0.1:${port}`,
        SYMPHONY_NODE_ID: name,
        ...this.nodeEnv,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    const node = new ClusterNode(name, port, child);
    this.nodes.push(node);
    return node;
  }

  /** A stock y-websocket client of `room` on `node` (or on any URL, such as a load balancer's). */
  connect(target: ClusterNode | string, room: string): StockClient {
    return this.clients.open(typeof target === 'string' ? target : target.collabUrl, room);
  }

  /** The registry's live holders of a room (stale entries are filtered out, as nodes do). */
  lookup(room: string): Promise<RoomEntry> {
    return this.registry.lookup(room);
  }

  /**
   * The room's state in S3, or null. s3rver writes an object in place, so a read during a write
   * can see part of it (S3 never serves a partial object): such a read is made again.
   */
  async storedState(room: string): Promise<Uint8Array | null> {
    for (let attempt = 1; ; attempt++) {
      let state: Uint8Array;
      try {
        const object = await this.store.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: this.store.key(room) }));
        state = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
      } catch (error) {
        if (error instanceof NoSuchKey) return null;
        throw error;
      }
      try {
        Y.decodeUpdate(state);
        return state;
      } catch (error) {
        if (attempt === 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  }

  /** Text of `Y.Text` `field` in the room's stored state ('' when nothing is stored). */
  async storedText(room: string, field = 'text'): Promise<string> {
    return textOfState(await this.storedState(room), field);
  }

  /** Text of the room as any node would read it without loading it (S3 plus the log). */
  async readText(room: string, field = 'text'): Promise<string> {
    return textOfState(await this.reader.load(room), field);
  }

  /** The room's pub/sub channel. */
  channel(room: string): string {
    return this.keys.channel(room);
  }

  /** Entries in the room's Redis log (updates no checkpoint covers yet). */
  logLength(room: string): Promise<number> {
    return this.redis.xlen(this.keys.logKey(room));
  }

  /** Every node's log, labelled: printed when a test fails (set `TEST_LOG_LEVEL=info` for more). */
  logs(): string {
    return this.nodes.map((node) => `--- ${node.name} (${node.url})\n${node.log()}`).join('\n');
  }

  /** Destroys clients, stops every node (SIGKILL if SIGTERM takes too long) and the services. */
  async stop(): Promise<void> {
    this.clients.destroyAll();
    await Promise.all(
      this.nodes.map(async (node) => {
        const timer = setTimeout(() => void node.kill(), 10_000);
        await node.stop();
        clearTimeout(timer);
      }),
    );
    this.redis.disconnect();
    await this.keys.close();
    await this.store.close();
    this.dynamo.destroy();
    this.store.client.destroy();
    await Promise.all([this.redisServer.stop(), this.aws.stop()]);
  }
}

/** Plain text of a client's `Y.Text`. */
export const textOf = (client: StockClient, field = 'text'): string => client.doc.getText(field).toString();

/** Waits until every client shows the same text, and returns it. */
export async function converged(clients: StockClient[], description: string, timeoutMs = 5_000, field = 'text'): Promise<string> {
  await waitFor(() => clients.every((client) => textOf(client, field) === textOf(clients[0], field)), description, timeoutMs);
  return textOf(clients[0], field);
}

/** The text of a stored Yjs state (empty for a room with no state). */
function textOfState(state: Uint8Array | null, field: string): string {
  const doc = new Y.Doc();
  try {
    if (state) Y.applyUpdate(doc, state);
    return doc.getText(field).toString();
  } finally {
    doc.destroy();
  }
}
