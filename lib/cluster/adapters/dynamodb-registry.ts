import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ScanCommand,
  type PutItemCommandInput,
  type TableDescription,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { ClusterView } from '../../core/replicator.js';
import type { NodeAddress, RoomEntry, RoomHolder, RoomRegistry, WriterLease } from '../replication/room-registry.js';
import { RESERVED_NODE_ID_PREFIX } from '../../util/node-id.js';

/** Options of `DynamoDbRegistry`; only `tableName` is required. */
export interface DynamoDbRegistryOptions {
  /** The registry table: partition key `room` (S), sort key `node` (S), TTL attribute `expiresAt`. */
  tableName: string;
  /** A ready-made client; `region` and `endpoint` are then ignored. @default a client configured by the SDK from the environment */
  client?: DynamoDBClient;
  /** @default the SDK's: `AWS_REGION` or the shared config file */
  region?: string;
  /** A DynamoDB-compatible endpoint (a local stand-in). @default the SDK's: AWS, or `AWS_ENDPOINT_URL_DYNAMODB` when set */
  endpoint?: string;
  /**
   * How old a heartbeat may be before its entry is treated as a dead node's and ignored, in
   * milliseconds. Three missed heartbeats at the default 10 s interval.
   * @default 30_000
   */
  staleAfterMs?: number;
  /**
   * How long one DynamoDB request may take, in milliseconds, before it fails. Without it a hung
   * connection would stall heartbeats and lease renewals indefinitely.
   * @default 5_000
   */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** The sort key under which a room's writer lease lives, in the same partition as its holders. */
export const LEASE_SORT_KEY = `${RESERVED_NODE_ID_PREFIX}lease`;

/** BatchWriteItem's limit. */
const BATCH_SIZE = 25;

const names = { '#room': 'room', '#node': 'node', '#holder': 'holder', '#leaseUntil': 'leaseUntil' };

/** What to run to create the table outside the CDK construct; named in the start-up error. */
const setupCommand = (tableName: string) => `npx symphony-setup --table ${tableName}`;

const str = (item: Record<string, AttributeValue>, key: string): string => item[key]?.S ?? '';
const num = (item: Record<string, AttributeValue>, key: string): number => Number(item[key]?.N ?? 0);
const toLease = (item: Record<string, AttributeValue>): WriterLease => ({ holder: str(item, 'holder'), leaseUntil: num(item, 'leaseUntil'), renewedAt: num(item, 'renewedAt') });

/**
 * The production `RoomRegistry`, one DynamoDB table:
 * - `(room, nodeId)` → `url`, `heartbeatAt` (ms), `expiresAt` (s, the table's TTL attribute): a holder;
 * - `(room, '#lease')` → `holder`, `leaseUntil` (ms), `expiresAt`: the writer lease, taken and
 *   renewed with conditional writes.
 * DynamoDB's TTL deletes expired items only eventually (and local stand-ins never do), so stale
 * entries are also filtered out on every read.
 */
export class DynamoDbRegistry implements RoomRegistry {
  readonly tableName: string;
  readonly staleAfterMs: number;
  private readonly client: DynamoDBClient;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;

  constructor(options: DynamoDbRegistryOptions) {
    if (!options || typeof options.tableName !== 'string' || options.tableName.length < 3) {
      throw new ConfigurationError('DynamoDbRegistry needs a "tableName" of at least 3 characters');
    }
    this.tableName = options.tableName;
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new DynamoDBClient({
        ...(options.region ? { region: options.region } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        // Without throwOnRequestTimeout the SDK only warns when the timeout passes, and waits on.
        requestHandler: { requestTimeout: options.requestTimeoutMs ?? 5_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
      });
    this.staleAfterMs = options.staleAfterMs ?? 30_000;
    this.logger = options.logger ?? silentLogger;
  }

  async lookup(room: string): Promise<RoomEntry> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#room = :room',
          ExpressionAttributeNames: { '#room': 'room' },
          ExpressionAttributeValues: { ':room': { S: room } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    const now = Date.now();
    let lease: WriterLease | null = null;
    const holders: RoomHolder[] = [];
    for (const item of items) {
      if (str(item, 'node') === LEASE_SORT_KEY) lease = toLease(item);
      else {
        const holder = this.toHolder(item);
        if (now - holder.heartbeatAt <= this.staleAfterMs) holders.push(holder);
      }
    }
    return { holders, lease };
  }

  async register(node: NodeAddress, rooms: readonly string[]): Promise<void> {
    const now = Date.now();
    const expiresAt = { N: String(Math.ceil((now + this.staleAfterMs) / 1000) + 60) };
    const requests: WriteRequest[] = rooms.map((room) => ({
      PutRequest: {
        Item: {
          room: { S: room },
          node: { S: node.nodeId },
          url: { S: node.url },
          heartbeatAt: { N: String(now) },
          expiresAt,
        },
      },
    }));
    for (let index = 0; index < requests.length; index += BATCH_SIZE) {
      await this.batchWrite(requests.slice(index, index + BATCH_SIZE));
    }
  }

  async deregister(nodeId: string, room: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { room: { S: room }, node: { S: nodeId } } }));
  }

  async acquireLease(nodeId: string, room: string, durationMs: number): Promise<WriterLease> {
    const now = Date.now();
    return this.putLease(nodeId, room, durationMs, now, {
      ConditionExpression: 'attribute_not_exists(#node) OR #holder = :me OR #leaseUntil < :now',
      ExpressionAttributeNames: { '#node': names['#node'], '#holder': names['#holder'], '#leaseUntil': names['#leaseUntil'] },
      ExpressionAttributeValues: { ':me': { S: nodeId }, ':now': { N: String(now) } },
    });
  }

  async takeOverLease(nodeId: string, room: string, durationMs: number, stale: WriterLease): Promise<WriterLease> {
    return this.putLease(nodeId, room, durationMs, Date.now(), {
      ConditionExpression: '#holder = :dead AND #leaseUntil = :until',
      ExpressionAttributeNames: { '#holder': names['#holder'], '#leaseUntil': names['#leaseUntil'] },
      ExpressionAttributeValues: { ':dead': { S: stale.holder }, ':until': { N: String(stale.leaseUntil) } },
    });
  }

  /** Writes the lease under `condition`; on a failed condition, resolves to the lease as it stands. */
  private async putLease(
    nodeId: string,
    room: string,
    durationMs: number,
    now: number,
    condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<WriterLease> {
    const leaseUntil = now + durationMs;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            room: { S: room },
            node: { S: LEASE_SORT_KEY },
            holder: { S: nodeId },
            leaseUntil: { N: String(leaseUntil) },
            renewedAt: { N: String(now) },
            expiresAt: { N: String(Math.ceil(leaseUntil / 1000) + 60) },
          },
          ...condition,
        }),
      );
      return { holder: nodeId, leaseUntil, renewedAt: now };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const current = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { room: { S: room }, node: { S: LEASE_SORT_KEY } }, ConsistentRead: true }),
    );
    // Released between the two calls: report it free; the caller tries again on its next round.
    if (!current.Item) return { holder: '', leaseUntil: 0, renewedAt: 0 };
    return toLease(current.Item);
  }

  async releaseLease(nodeId: string, room: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { room: { S: room }, node: { S: LEASE_SORT_KEY } },
          ConditionExpression: '#holder = :me',
          ExpressionAttributeNames: { '#holder': 'holder' },
          ExpressionAttributeValues: { ':me': { S: nodeId } },
        }),
      );
    } catch (error) {
      // Someone else took it after ours expired: nothing to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Scans the whole table: meant for dashboards polling every few seconds, not for the hot path. */
  async describe(): Promise<ClusterView> {
    const now = Date.now();
    const rooms = new Map<string, { room: string; holders: RoomHolder[]; writer: string | null }>();
    const nodes = new Map<string, { nodeId: string; url: string; rooms: number; heartbeatAt: number }>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const item of page.Items ?? []) {
        const room = str(item, 'room');
        const entry = rooms.get(room) ?? { room, holders: [], writer: null };
        if (str(item, 'node') === LEASE_SORT_KEY) {
          if (num(item, 'leaseUntil') >= now) entry.writer = str(item, 'holder');
        } else {
          const holder = this.toHolder(item);
          if (now - holder.heartbeatAt > this.staleAfterMs) continue;
          entry.holders.push(holder);
          const node = nodes.get(holder.nodeId) ?? { nodeId: holder.nodeId, url: holder.url, rooms: 0, heartbeatAt: 0 };
          node.rooms++;
          node.heartbeatAt = Math.max(node.heartbeatAt, holder.heartbeatAt);
          nodes.set(holder.nodeId, node);
        }
        rooms.set(room, entry);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return {
      rooms: [...rooms.values()].filter((entry) => entry.holders.length > 0).sort((a, b) => a.room.localeCompare(b.room)),
      nodes: [...nodes.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId)),
    };
  }

  /**
   * Checks that the table exists, is active and has the documented keys; throws a
   * `ConfigurationError` naming the table and how to create it otherwise. Cluster nodes call it at
   * start (`clusterFromEnvironment`), so a misconfigured node fails at once instead of running
   * without a registry.
   */
  async verify(options: { abortSignal?: AbortSignal } = {}): Promise<void> {
    let table: TableDescription | undefined;
    try {
      ({ Table: table } = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }), options));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new ConfigurationError(
          `the DynamoDB table "${this.tableName}" (SYMPHONY_DYNAMODB_TABLE) does not exist: deploy it with the SymphonyService CDK construct, or create it with \`${setupCommand(this.tableName)}\``,
        );
      }
      throw new ConfigurationError(`the DynamoDB table "${this.tableName}" (SYMPHONY_DYNAMODB_TABLE) could not be reached: ${(error as Error).message}`, { cause: error });
    }
    const keys = (table?.KeySchema ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).sort().join(',');
    if (keys !== 'node:RANGE,room:HASH') {
      throw new ConfigurationError(
        `the DynamoDB table "${this.tableName}" (SYMPHONY_DYNAMODB_TABLE) does not have the registry's keys (partition key "room", sort key "node", both strings); found ${keys || 'none'}`,
      );
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private toHolder(item: Record<string, AttributeValue>): RoomHolder {
    return { nodeId: str(item, 'node'), url: str(item, 'url'), heartbeatAt: num(item, 'heartbeatAt') };
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    // DynamoDB may leave items unprocessed under throttling; retry those a few times with back-off.
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === 4) {
        this.logger.warn({ unprocessed: pending.length }, 'registry heartbeat left items unprocessed; the next heartbeat retries');
        return;
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = result.UnprocessedItems?.[this.tableName] ?? [];
    }
  }
}

/**
 * Creates the registry table if it does not exist, with the documented schema (partition key
 * `room`, sort key `node`, on-demand billing), and enables TTL on `expiresAt` where the endpoint
 * supports it: for local and self-managed deployments (`npx symphony-setup`) and tests; on AWS the
 * CDK construct creates it.
 */
export async function ensureRegistryTable(client: DynamoDBClient, tableName: string): Promise<'created' | 'existed'> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return 'existed';
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'room', AttributeType: 'S' },
        { AttributeName: 'node', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'room', KeyType: 'HASH' },
        { AttributeName: 'node', KeyType: 'RANGE' },
      ],
    }),
  );
  // Local stand-ins create tables at once; DynamoDB takes seconds.
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (attempt === 120) throw new Error(`the DynamoDB table "${tableName}" was created but did not become active within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }));
  } catch (error) {
    // Local stand-ins (dynalite) have no TTL; reads filter stale entries anyway.
    if ((error as { name?: string }).name !== 'UnknownOperationException') throw error;
  }
  return 'created';
}
