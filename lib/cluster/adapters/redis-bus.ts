import { Redis, type RedisOptions } from 'ioredis';
import { ConfigurationError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { decodeMessage, encodeHeader, encodeMessage, type BusMessage } from '../replication/messages.js';
import type { RoomBus, RoomBusListener, RoomLogBounds, RoomLogEntry, RoomLogTail } from '../replication/room-bus.js';

/** Options of `RedisBus`; only `url` is required. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS (ElastiCache in-transit encryption). */
  url: string;
  /**
   * Prefix of every key and channel this bus uses, so several deployments (or test runs) can share
   * one Redis.
   * @default 'symphony:'
   */
  keyPrefix?: string;
  /**
   * How long a command may wait for Redis, in milliseconds. An update whose append fails waits in
   * its node's outbox and is retried, so a hung Redis delays replication instead of blocking it.
   * @default 5_000
   */
  commandTimeoutMs?: number;
  /**
   * How long `start` waits for Redis, in milliseconds. A node that cannot reach Redis still starts
   * (and keeps retrying); rooms fail to load until Redis answers.
   * @default 10_000
   */
  startTimeoutMs?: number;
  /** Entries read per round trip when a node catches up on a room's log. @default 1_000 */
  readBatchSize?: number;
  /** Extra ioredis options (TLS settings, credentials...); Symphony's own settings win. */
  redisOptions?: RedisOptions;
  logger?: Logger;
}

/**
 * Appends an update to the room's log and publishes it, atomically: a node that receives the
 * message can rely on the update being durable, and the published message carries the update's
 * sequence number so receivers notice gaps. The sequence number is the stream entry id (`0-<seq>`).
 * KEYS: meta hash, log stream. ARGV: message header, update, node id, channel.
 */
const APPEND_SCRIPT = `
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('XADD', KEYS[2], '0-' .. seq, 'n', ARGV[3], 'u', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. struct.pack('>d', seq) .. ARGV[2])
return seq`;

/** KEYS: meta hash. ARGV: node id. Returns { head, trimmed }. */
const CLAIM_SCRIPT = `
redis.call('HSET', KEYS[1], 'writer', ARGV[1])
return redis.call('HMGET', KEYS[1], 'seq', 'trimmed')`;

/**
 * Trims the log up to the covered sequence number, unless another node claimed the log since.
 * KEYS: meta hash, log stream. ARGV: node id, covered seq. Returns 1 when trimmed (or nothing to do).
 */
const TRIM_SCRIPT = `
local writer = redis.call('HGET', KEYS[1], 'writer')
if writer and writer ~= ARGV[1] then return 0 end
local covered = tonumber(ARGV[2])
local trimmed = tonumber(redis.call('HGET', KEYS[1], 'trimmed') or '0')
if covered <= trimmed then return 1 end
redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. string.format('%d', covered + 1))
redis.call('HSET', KEYS[1], 'trimmed', string.format('%d', covered), 'writer', ARGV[1])
return 1`;

interface ScriptedRedis extends Redis {
  symphonyAppend(meta: string, log: string, header: Buffer, update: Buffer, nodeId: string, channel: string): Promise<number>;
  symphonyClaim(meta: string, nodeId: string): Promise<[string | null, string | null]>;
  symphonyTrim(meta: string, log: string, nodeId: string, covered: string): Promise<number>;
}

type StreamEntry = [id: Buffer, fields: Buffer[]];

const toCount = (value: string | null | undefined): number => (value ? Number(value) : 0);

/** The room name without `{`, `}` (which would end a hash tag early) or a bare `%`. */
const hashTag = (room: string): string => room.replace(/[{}%]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The production `RoomBus`: per room, a Redis stream (`<prefix>{<room>}:log`, the durable log), a
 * hash (`<prefix>{<room>}:meta`: last sequence number, trim point, current trimmer) and a pub/sub
 * channel (`<prefix>room:<room>`). Uses two connections, because a subscribed connection cannot run
 * other commands. Payloads travel as raw bytes (no base64).
 */
export class RedisBus implements RoomBus {
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private readonly readBatchSize: number;
  private readonly logger: Logger;
  private readonly options: RedisBusOptions;
  private command: ScriptedRedis | null = null;
  private subscriber: Redis | null = null;
  private listener: RoomBusListener | null = null;
  private nodeId = '';
  private updateHeader: Buffer = Buffer.alloc(0);
  /** Channel name (as Redis hands it back) → room. */
  private readonly rooms = new Map<string, string>();

  constructor(options: RedisBusOptions) {
    if (!options || typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new ConfigurationError('RedisBus needs a "url" starting with redis:// or rediss://');
    }
    this.options = options;
    this.prefix = options.keyPrefix ?? 'symphony:';
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.readBatchSize = options.readBatchSize ?? 1_000;
    this.logger = options.logger ?? silentLogger;
  }

  async start(nodeId: string, listener: RoomBusListener): Promise<void> {
    this.nodeId = nodeId;
    this.listener = listener;
    this.updateHeader = encodeHeader('update', nodeId);
    const base: RedisOptions = {
      ...this.options.redisOptions,
      // Fail at once while disconnected: a failed append waits in the node's outbox, which
      // checkpoints respect, instead of in an invisible queue that dies with the process.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.commandTimeoutMs,
      lazyConnect: true,
    };
    const command = new Redis(this.options.url, { ...base, connectionName: `symphony:${nodeId}:command` }) as ScriptedRedis;
    command.defineCommand('symphonyAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    command.defineCommand('symphonyClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    command.defineCommand('symphonyTrim', { numberOfKeys: 2, lua: TRIM_SCRIPT });
    const subscriber = new Redis(this.options.url, { ...base, connectionName: `symphony:${nodeId}:subscriber` });
    this.command = command;
    this.subscriber = subscriber;
    // The string `message` event would decode payloads as UTF-8 and corrupt them.
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.deliver(channel, message));
    this.watch(command, 'command', () => listener.writable());
    this.watch(subscriber, 'subscriber', () => listener.resubscribed());
    const connected = Promise.all([command.connect(), subscriber.connect()]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.startTimeoutMs);
    });
    try {
      const outcome = await Promise.race([connected.then(() => 'connected' as const), timeout]);
      if (outcome === 'timeout') this.logger.error({ timeoutMs: this.startTimeoutMs }, 'Redis is not reachable yet; rooms cannot load until it is');
    } catch (error) {
      this.logger.error({ err: error }, 'Redis is not reachable yet; rooms cannot load until it is');
    } finally {
      clearTimeout(timer);
    }
    // A failed first connect is retried by ioredis; keep the promise from being reported unhandled.
    connected.catch(() => undefined);
  }

  async subscribe(room: string): Promise<void> {
    const channel = this.channel(room);
    this.rooms.set(Buffer.from(channel, 'utf8').toString('utf8'), room);
    await this.requireSubscriber().subscribe(channel);
  }

  async unsubscribe(room: string): Promise<void> {
    const channel = this.channel(room);
    this.rooms.delete(Buffer.from(channel, 'utf8').toString('utf8'));
    await this.requireSubscriber().unsubscribe(channel);
  }

  async append(room: string, update: Uint8Array): Promise<number> {
    // ioredis sends Buffers as bytes but stringifies any other Uint8Array (such as Yjs's): wrap it, without copying.
    const bytes = Buffer.from(update.buffer, update.byteOffset, update.byteLength);
    const seq = await this.requireCommand().symphonyAppend(this.metaKey(room), this.logKey(room), this.updateHeader, bytes, this.nodeId, this.channel(room));
    return Number(seq);
  }

  async publish(room: string, message: Exclude<BusMessage, { kind: 'update' }>): Promise<void> {
    await this.requireCommand().publish(this.channel(room), encodeMessage(message));
  }

  async heads(rooms: readonly string[]): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    if (rooms.length === 0) return heads;
    const pipeline = this.requireCommand().pipeline();
    for (const room of rooms) pipeline.hget(this.metaKey(room), 'seq');
    const results = (await pipeline.exec()) ?? [];
    rooms.forEach((room, index) => {
      const [error, value] = results[index] ?? [new Error('no reply'), null];
      if (!error) heads.set(room, toCount(value as string | null));
    });
    return heads;
  }

  async readLog(room: string, afterSeq: number): Promise<RoomLogTail> {
    const command = this.requireCommand();
    const results = await command
      .multi()
      .hmget(this.metaKey(room), 'seq', 'trimmed')
      .xrangeBuffer(this.logKey(room), `0-${afterSeq + 1}`, '+', 'COUNT', this.readBatchSize)
      .exec();
    if (!results) throw new Error(`reading the log of room "${room}" was aborted`);
    for (const [error] of results) if (error) throw error;
    const [head, trimmed] = results[0][1] as [string | null, string | null];
    let page = results[1][1] as StreamEntry[];
    const entries: RoomLogEntry[] = [];
    for (;;) {
      for (const entry of page) entries.push(this.parseEntry(entry));
      if (page.length < this.readBatchSize) break;
      const last = entries[entries.length - 1].seq;
      page = (await command.xrangeBuffer(this.logKey(room), `0-${last + 1}`, '+', 'COUNT', this.readBatchSize)) as StreamEntry[];
    }
    return { head: toCount(head), trimmed: toCount(trimmed), entries };
  }

  async claimTrim(room: string): Promise<RoomLogBounds> {
    const [head, trimmed] = await this.requireCommand().symphonyClaim(this.metaKey(room), this.nodeId);
    return { head: toCount(head), trimmed: toCount(trimmed) };
  }

  async trim(room: string, coveredSeq: number): Promise<boolean> {
    const result = await this.requireCommand().symphonyTrim(this.metaKey(room), this.logKey(room), this.nodeId, String(coveredSeq));
    return Number(result) === 1;
  }

  async deleteLog(room: string): Promise<void> {
    await this.requireCommand().del(this.metaKey(room), this.logKey(room));
  }

  async close(): Promise<void> {
    const connections = [this.subscriber, this.command].filter((connection): connection is Redis => connection !== null);
    this.subscriber = null;
    this.command = null;
    this.rooms.clear();
    await Promise.all(
      connections.map(async (connection) => {
        try {
          if (connection.status === 'ready') await connection.quit();
          else connection.disconnect();
        } catch {
          connection.disconnect();
        }
      }),
    );
  }

  /**
   * Key names, exposed for tests and operators. A room's keys share a hash tag (`{<room>}`, braces
   * in the name escaped), so they live in one hash slot: the scripts touch both, and a sharded
   * Redis (Redis Cluster, MemoryDB) refuses multi-key scripts across slots.
   */
  metaKey(room: string): string {
    return `${this.prefix}{${hashTag(room)}}:meta`;
  }

  /** The room's log (a Redis stream). */
  logKey(room: string): string {
    return `${this.prefix}{${hashTag(room)}}:log`;
  }

  /** The room's pub/sub channel. */
  channel(room: string): string {
    return `${this.prefix}room:${room}`;
  }

  private deliver(channel: Buffer, bytes: Buffer): void {
    const room = this.rooms.get(channel.toString('utf8'));
    if (room === undefined) return;
    let message: BusMessage;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      this.logger.warn({ room, err: error, bytes: bytes.byteLength }, 'dropped a malformed cluster message');
      return;
    }
    this.listener?.message(room, message);
  }

  private parseEntry([id, fields]: StreamEntry): RoomLogEntry {
    let nodeId = '';
    let update: Uint8Array = new Uint8Array(0);
    for (let index = 0; index + 1 < fields.length; index += 2) {
      const name = fields[index].toString('latin1');
      if (name === 'n') nodeId = fields[index + 1].toString('utf8');
      else if (name === 'u') update = fields[index + 1];
    }
    return { seq: Number(id.toString('latin1').split('-')[1]), nodeId, update };
  }

  /** Logs a lost connection once (not every reconnect attempt) and reports its return. */
  private watch(connection: Redis, role: string, restored: () => void): void {
    let everReady = false;
    let healthy = true;
    connection.on('ready', () => {
      if (everReady && !healthy) this.logger.info({ role }, 'Redis connection restored');
      healthy = true;
      if (everReady) restored();
      everReady = true;
    });
    connection.on('error', (error: Error) => {
      if (healthy) this.logger.warn({ role, err: error }, 'Redis connection failed; retrying');
      healthy = false;
    });
    connection.on('close', () => {
      if (healthy && everReady && this.command !== null) this.logger.warn({ role }, 'Redis connection closed; reconnecting');
      healthy = false;
    });
  }

  private requireCommand(): ScriptedRedis {
    if (!this.command) throw new Error('the Redis bus is not started (or was closed)');
    return this.command;
  }

  private requireSubscriber(): Redis {
    if (!this.subscriber) throw new Error('the Redis bus is not started (or was closed)');
    return this.subscriber;
  }
}
