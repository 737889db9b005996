import type pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { ConfigurationError } from '../../core/errors.js';
import { createJsonLogger, type Logger } from '../../core/logger.js';
import type { MetadataBatch, MetadataStore, RoomListQuery, RoomPage, RoomRecord, RoomSummary, SessionRecord } from './metadata-store.js';
import { migrations } from './postgres-schema.js';
import { positiveInteger } from '../../util/config-checks.js';

/** Options of `PostgresMetadataStore`, all optional: by default the `pg` driver reads `DATABASE_URL` or the `PG*` variables. */
export interface PostgresMetadataStoreOptions {
  /**
   * Where the database is. @default process.env.DATABASE_URL; without it, the pg driver's own
   * PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD and PGSSLMODE variables (as on AWS).
   */
  connectionString?: string;
  /** Schema holding the tables; created at start if missing. @default 'symphony' */
  schema?: string;
  /** Connections in the pool. Writes are batched, so a few suffice. @default 4 */
  maxConnections?: number;
  /** How long to wait for a connection before a write fails (and is retried later). @default 5_000 */
  connectionTimeoutMs?: number;
  /**
   * How long one query may take. Bounds a write to a database that accepts connections but does
   * not answer (a network partition), so the recorder can report the failure and retry.
   * @default 10_000
   */
  queryTimeoutMs?: number;
  /** A node that has not written for this long is considered gone (see `EmbeddedMetadataStoreOptions`). @default 60_000 */
  nodeTimeoutMs?: number;
  /** Ended sessions older than this are deleted, hourly. @default 2_592_000_000 (30 days) */
  sessionRetentionMs?: number;
  /** Where pool errors (a dropped idle connection) are logged. @default `createJsonLogger()` */
  logger?: Logger;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Room and session metadata in Postgres, through the `pg` driver (an optional peer dependency,
 * imported when the store starts). History survives restarts, and every node of a cluster writes
 * to the same tables: all writes merge with `LEAST`/`GREATEST`, so they commute and may repeat.
 */
export class PostgresMetadataStore implements MetadataStore {
  readonly kind = 'postgres';
  /** Undefined: the pg driver reads the PG* environment variables itself. */
  private readonly connectionString: string | undefined;
  private readonly schema: string;
  private readonly maxConnections: number;
  private readonly connectionTimeoutMs: number;
  private readonly queryTimeoutMs: number;
  private readonly nodeTimeoutMs: number;
  private readonly sessionRetentionMs: number;
  private readonly logger: Logger;
  private pool: Pool | null = null;
  private starting: Promise<void> | null = null;
  private lastPruneAt = 0;
  private closed = false;

  constructor(options: PostgresMetadataStoreOptions = {}) {
    const connectionString = options.connectionString ?? process.env.DATABASE_URL ?? (process.env.PGHOST ? undefined : '');
    if (connectionString === '') {
      throw new ConfigurationError('PostgresMetadataStore needs "connectionString", the DATABASE_URL environment variable, or PGHOST and the other PG* variables');
    }
    const schema = options.schema ?? 'symphony';
    if (!SCHEMA_NAME.test(schema)) throw new ConfigurationError(`"schema" must be a lower-case SQL identifier, got ${JSON.stringify(schema)}`);
    this.connectionString = connectionString;
    this.schema = schema;
    this.maxConnections = positiveInteger('maxConnections', options.maxConnections ?? 4);
    this.connectionTimeoutMs = positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs ?? 5_000);
    this.queryTimeoutMs = positiveInteger('queryTimeoutMs', options.queryTimeoutMs ?? 10_000);
    this.nodeTimeoutMs = positiveInteger('nodeTimeoutMs', options.nodeTimeoutMs ?? 60_000);
    this.sessionRetentionMs = positiveInteger('sessionRetentionMs', options.sessionRetentionMs ?? 30 * 24 * 3_600_000);
    this.logger = options.logger ?? createJsonLogger();
  }

  /** Connects and migrates. A failed start may be called again (the recorder retries it). */
  start(): Promise<void> {
    this.starting ??= this.migrate().catch((error: unknown) => {
      this.starting = null;
      throw error;
    });
    return this.starting;
  }

  async write(batch: MetadataBatch): Promise<void> {
    await this.start();
    const s = this.table.bind(this);
    const rooms = [...batch.rooms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const sessions = [...batch.sessions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO ${s('nodes')} (node_id, first_seen_at, last_seen_at) VALUES ($1, $2, $2)
         ON CONFLICT (node_id) DO UPDATE SET last_seen_at = GREATEST(nodes.last_seen_at, EXCLUDED.last_seen_at)`,
        [batch.nodeId, batch.at],
      );
      if (batch.nodeStartedAt) {
        await client.query(
          `UPDATE ${s('sessions')} SET disconnected_at = $2 WHERE node_id = $1 AND disconnected_at IS NULL AND connected_at < $2`,
          [batch.nodeId, batch.nodeStartedAt],
        );
      }
      // Rows are written in key order, so two nodes writing overlapping batches lock them in the
      // same order and cannot deadlock.
      if (rooms.length > 0) {
        await client.query(
          `INSERT INTO ${s('rooms')} AS r (name, node_id, first_activity_at, last_activity_at, document_bytes, document_bytes_at, peak_connections, last_checkpoint_at)
           SELECT name, $1, first_at, last_at, bytes, bytes_at, peak, checkpoint_at
           FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[], $6::timestamptz[], $7::integer[], $8::timestamptz[])
             AS w(name, first_at, last_at, bytes, bytes_at, peak, checkpoint_at)
           ON CONFLICT (name) DO UPDATE SET
             node_id = EXCLUDED.node_id,
             first_activity_at = LEAST(r.first_activity_at, EXCLUDED.first_activity_at),
             last_activity_at = GREATEST(r.last_activity_at, EXCLUDED.last_activity_at),
             document_bytes = CASE
               WHEN EXCLUDED.document_bytes_at IS NOT NULL AND (r.document_bytes_at IS NULL OR EXCLUDED.document_bytes_at >= r.document_bytes_at)
               THEN EXCLUDED.document_bytes ELSE r.document_bytes END,
             document_bytes_at = GREATEST(r.document_bytes_at, EXCLUDED.document_bytes_at),
             peak_connections = GREATEST(r.peak_connections, EXCLUDED.peak_connections),
             last_checkpoint_at = GREATEST(r.last_checkpoint_at, EXCLUDED.last_checkpoint_at)`,
          [
            batch.nodeId,
            rooms.map((room) => room.name),
            rooms.map((room) => room.firstActivityAt),
            rooms.map((room) => room.lastActivityAt),
            rooms.map((room) => room.documentBytes),
            rooms.map((room) => room.documentBytesAt),
            rooms.map((room) => room.peakConnections),
            rooms.map((room) => room.lastCheckpointAt),
          ],
        );
      }
      if (sessions.length > 0) {
        await client.query(
          `INSERT INTO ${s('sessions')} AS s (id, room, node_id, user_id, read_only, connected_at, disconnected_at, messages_in, messages_out)
           SELECT id, room, $1, user_id, read_only, connected_at, disconnected_at, messages_in, messages_out
           FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::bigint[])
             AS w(id, room, user_id, read_only, connected_at, disconnected_at, messages_in, messages_out)
           ON CONFLICT (id) DO UPDATE SET
             node_id = EXCLUDED.node_id,
             connected_at = LEAST(s.connected_at, EXCLUDED.connected_at),
             disconnected_at = GREATEST(s.disconnected_at, EXCLUDED.disconnected_at),
             messages_in = GREATEST(s.messages_in, EXCLUDED.messages_in),
             messages_out = GREATEST(s.messages_out, EXCLUDED.messages_out)`,
          [
            batch.nodeId,
            sessions.map((session) => session.id),
            sessions.map((session) => session.room),
            sessions.map((session) => session.userId),
            sessions.map((session) => session.readOnly),
            sessions.map((session) => session.connectedAt),
            sessions.map((session) => session.disconnectedAt),
            sessions.map((session) => session.messagesIn),
            sessions.map((session) => session.messagesOut),
          ],
        );
        // A room's peak counts the open sessions of every live node, not only this node's.
        await client.query(
          `UPDATE ${s('rooms')} AS r SET peak_connections = c.open
           FROM (
             SELECT s.room, count(*)::integer AS open
             FROM ${s('sessions')} s JOIN ${s('nodes')} n ON n.node_id = s.node_id
             WHERE s.room = ANY($1::text[]) AND s.disconnected_at IS NULL AND n.last_seen_at > now() - make_interval(secs => $2)
             GROUP BY s.room
           ) AS c
           WHERE r.name = c.room AND c.open > r.peak_connections`,
          [[...new Set(sessions.map((session) => session.room))].sort(), this.nodeTimeoutMs / 1000],
        );
      }
    });
    await this.pruneSessions();
  }

  async listRooms(query: RoomListQuery): Promise<RoomPage> {
    const pool = await this.ready();
    const s = this.table.bind(this);
    const where = `name LIKE $1 ESCAPE '\\' AND NOT (name = ANY($2::text[]))`;
    const filter = [`${escapeLike(query.prefix)}%`, query.exclude];
    const direction = query.descending ? 'DESC' : 'ASC';
    const order =
      query.sort === 'name'
        ? `name ${direction}`
        : query.sort === 'lastActivity'
          ? `last_activity_at ${direction} NULLS LAST, name ASC`
          : query.sort === 'documentBytes'
            ? `document_bytes ${direction} NULLS LAST, name ASC`
            : 'name ASC';
    const [count, page] = await Promise.all([
      pool.query<{ total: string }>(`SELECT count(*) AS total FROM ${s('rooms')} WHERE ${where}`, filter),
      pool.query<RoomRow>(`SELECT * FROM ${s('rooms')} WHERE ${where} ORDER BY ${order} LIMIT $3 OFFSET $4`, [...filter, query.limit, query.offset]),
    ]);
    return { rooms: page.rows.map(roomSummary), total: Number(count.rows[0].total) };
  }

  async getRooms(names: readonly string[]): Promise<RoomRecord[]> {
    if (names.length === 0) return [];
    const pool = await this.ready();
    const result = await pool.query<RoomRow & { nodes: string[] }>(`SELECT r.*, ${this.nodesOf('r.name')} AS nodes FROM ${this.table('rooms')} r WHERE r.name = ANY($1::text[])`, [
      names,
    ]);
    return result.rows.map(roomRecord);
  }

  async recentSessions(room: string, limit: number): Promise<SessionRecord[]> {
    const pool = await this.ready();
    const result = await pool.query<SessionRow>(
      `SELECT s.*, (n.last_seen_at > now() - make_interval(secs => $3)) AS node_alive
       FROM ${this.table('sessions')} s LEFT JOIN ${this.table('nodes')} n ON n.node_id = s.node_id
       WHERE s.room = $1 ORDER BY s.connected_at DESC LIMIT $2`,
      [room, limit, this.nodeTimeoutMs / 1000],
    );
    return result.rows.map((row) => ({
      id: row.id,
      room: row.room,
      userId: row.user_id,
      nodeId: row.node_id,
      readOnly: row.read_only,
      connectedAt: row.connected_at,
      disconnectedAt: row.disconnected_at,
      messagesIn: Number(row.messages_in),
      messagesOut: Number(row.messages_out),
      state: row.disconnected_at ? 'closed' : row.node_alive ? 'open' : 'lost',
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  private async ready(): Promise<Pool> {
    await this.start();
    if (!this.pool) throw new Error('PostgresMetadataStore is closed');
    return this.pool;
  }

  private async migrate(): Promise<void> {
    if (this.closed) throw new Error('PostgresMetadataStore is closed');
    this.pool ??= await this.createPool();
    const schema = this.schema;
    await this.transaction(async (client) => {
      // Serialises nodes that start at the same time: CREATE ... IF NOT EXISTS races otherwise.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`symphony-metadata:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.table('migrations')} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const applied = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${this.table('migrations')}`);
      const current = applied.rows[0].version ?? 0;
      const all = migrations(schema);
      for (let version = current + 1; version <= all.length; version++) {
        await client.query(all[version - 1]);
        await client.query(`INSERT INTO ${this.table('migrations')} (version) VALUES ($1)`, [version]);
        this.logger.info({ schema, version }, 'metadata schema migrated');
      }
    });
  }

  private async createPool(): Promise<Pool> {
    let driver: typeof pg;
    try {
      driver = (await import('pg')).default;
    } catch (cause) {
      throw new ConfigurationError(`PostgresMetadataStore needs the "pg" package (npm install pg): ${String(cause)}`);
    }
    const pool = new driver.Pool({
      ...(this.connectionString === undefined ? {} : { connectionString: this.connectionString }),
      max: this.maxConnections,
      connectionTimeoutMillis: this.connectionTimeoutMs,
      query_timeout: this.queryTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'symphony-metadata',
    });
    // An idle connection that breaks (a database restart) emits here; unhandled, it would crash the process.
    pool.on('error', (error) => this.logger.warn({ err: error }, 'metadata database connection lost'));
    return pool;
  }

  private async transaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
    if (!this.pool) throw new Error('PostgresMetadataStore is closed');
    const client = await this.pool.connect();
    let broken: unknown;
    // A connection that breaks between two queries emits `error` on the client, which the pool
    // listens for only while the client is idle: unheard, it would crash the process.
    const onError = (error: Error) => {
      broken = error;
      this.logger.warn({ err: error }, 'metadata database connection lost during a write');
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      broken = error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.off('error', onError);
      // A connection whose query failed may be half-broken (a timeout mid-stream): discard it.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  private async pruneSessions(): Promise<void> {
    if (Date.now() - this.lastPruneAt < PRUNE_INTERVAL_MS || !this.pool) return;
    this.lastPruneAt = Date.now();
    try {
      await this.pool.query(`DELETE FROM ${this.table('sessions')} WHERE disconnected_at < now() - make_interval(secs => $1)`, [this.sessionRetentionMs / 1000]);
    } catch (error) {
      this.logger.warn({ err: error }, 'pruning old metadata sessions failed');
    }
  }

  private nodesOf(roomColumn: string): string {
    return `ARRAY(
      SELECT DISTINCT s.node_id FROM ${this.table('sessions')} s JOIN ${this.table('nodes')} n ON n.node_id = s.node_id
      WHERE s.room = ${roomColumn} AND s.disconnected_at IS NULL AND n.last_seen_at > now() - make_interval(secs => ${this.nodeTimeoutMs / 1000})
      ORDER BY 1)`;
  }

  private table(name: string): string {
    return `"${this.schema}".${name}`;
  }
}

interface RoomRow {
  name: string;
  node_id: string;
  first_activity_at: Date;
  last_activity_at: Date;
  document_bytes: string | null;
  peak_connections: number;
  last_checkpoint_at: Date | null;
}

interface SessionRow {
  id: string;
  room: string;
  node_id: string;
  user_id: string;
  read_only: boolean;
  connected_at: Date;
  disconnected_at: Date | null;
  messages_in: string;
  messages_out: string;
  node_alive: boolean | null;
}

function roomRecord(row: RoomRow & { nodes: string[] }): RoomRecord {
  return { ...roomSummary(row), nodes: row.nodes };
}

function roomSummary(row: RoomRow): RoomSummary {
  return {
    name: row.name,
    firstActivityAt: row.first_activity_at,
    lastActivityAt: row.last_activity_at,
    // bigint arrives as a string; documents are far below 2^53 bytes.
    documentBytes: row.document_bytes === null ? null : Number(row.document_bytes),
    peakConnections: row.peak_connections,
    lastCheckpointAt: row.last_checkpoint_at,
    nodeId: row.node_id,
  };
}

function escapeLike(prefix: string): string {
  return prefix.replace(/[\\%_]/g, '\\$&');
}
