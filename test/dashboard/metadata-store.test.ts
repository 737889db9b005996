import assert from 'node:assert/strict';
import pg from 'pg';
import { DATABASE_URL, dropSchema, freshSchemaName } from './support.js';
import { EmbeddedMetadataStore, PostgresMetadataStore, silentLogger, type MetadataBatch, type MetadataStore, type RoomListQuery, type RoomWrite, type SessionWrite } from '../../lib/index.js';

const t0 = Date.parse('2026-03-01T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * 1000);

function room(name: string, overrides: Partial<RoomWrite> = {}): RoomWrite {
  return { name, firstActivityAt: at(0), lastActivityAt: at(0), documentBytes: null, documentBytesAt: null, peakConnections: 0, lastCheckpointAt: null, ...overrides };
}

function session(id: string, roomName: string, overrides: Partial<SessionWrite> = {}): SessionWrite {
  return { id, room: roomName, userId: `user-${id}`, readOnly: false, connectedAt: at(0), disconnectedAt: null, messagesIn: 0, messagesOut: 0, ...overrides };
}

function batch(nodeId: string, content: Partial<MetadataBatch> = {}): MetadataBatch {
  return { nodeId, at: new Date(), nodeStartedAt: null, rooms: [], sessions: [], ...content };
}

const everything: RoomListQuery = { prefix: '', sort: 'name', descending: false, offset: 0, limit: 100, exclude: [] };

/** One specification, run against every implementation. */
function describeMetadataStore(kind: string, create: () => MetadataStore, release: () => Promise<void> = async () => {}): void {
  describe(`${kind} metadata store`, () => {
    let store: MetadataStore;
    before(async () => {
      store = create();
      await store.start();
    });
    after(async () => {
      await store.close();
      await release();
    });

    it('records rooms and merges writes monotonically, whatever their order', async () => {
      await store.write(batch('n1', { rooms: [room('merge', { firstActivityAt: at(10), lastActivityAt: at(20), documentBytes: 100, documentBytesAt: at(20), peakConnections: 3 })] }));
      // An older write arriving late changes only what it knows better: the first activity.
      await store.write(batch('n1', { rooms: [room('merge', { firstActivityAt: at(5), lastActivityAt: at(6), documentBytes: 50, documentBytesAt: at(6), peakConnections: 1 })] }));
      await store.write(batch('n2', { rooms: [room('merge', { firstActivityAt: at(30), lastActivityAt: at(40), lastCheckpointAt: at(39) })] }));
      const [record] = await store.getRooms(['merge']);
      assert.equal(record.firstActivityAt.getTime(), at(5).getTime());
      assert.equal(record.lastActivityAt.getTime(), at(40).getTime());
      assert.equal(record.documentBytes, 100);
      assert.equal(record.peakConnections, 3);
      assert.equal(record.lastCheckpointAt?.getTime(), at(39).getTime());
      assert.equal(record.nodeId, 'n2');
    });

    it('applies a batch twice without changing the result (a retry after an ambiguous failure)', async () => {
      const retried = batch('n1', {
        rooms: [room('retried', { peakConnections: 2, documentBytes: 7, documentBytesAt: at(1) })],
        sessions: [session('r1', 'retried', { disconnectedAt: at(9), messagesIn: 4, messagesOut: 8 })],
      });
      await store.write(retried);
      const first = { rooms: await store.getRooms(['retried']), sessions: await store.recentSessions('retried', 10) };
      await store.write(retried);
      assert.deepEqual({ rooms: await store.getRooms(['retried']), sessions: await store.recentSessions('retried', 10) }, first);
    });

    it('keeps every session when several nodes write the same room at once, and counts them all in the peak', async () => {
      const nodes = ['node-a', 'node-b', 'node-c'];
      await Promise.all(
        nodes.flatMap((nodeId) =>
          Array.from({ length: 5 }, (_, i) =>
            store.write(
              batch(nodeId, {
                rooms: [room('shared', { lastActivityAt: at(i), peakConnections: i + 1 })],
                sessions: [session(`${nodeId}-${i}`, 'shared', { connectedAt: at(i) })],
              }),
            ),
          ),
        ),
      );
      const sessions = await store.recentSessions('shared', 100);
      assert.equal(sessions.length, 15);
      assert.ok(sessions.every((s) => s.state === 'open'));
      const [record] = await store.getRooms(['shared']);
      assert.equal(record.peakConnections, 15);
      assert.deepEqual(record.nodes, nodes);
    });

    it('lists the nodes with open sessions, and reports sessions of a node that stopped reporting as lost', async () => {
      await store.write(batch('alive', { sessions: [session('x1', 'nodes-room')], rooms: [room('nodes-room')] }));
      await store.write(batch('gone', { at: at(-3600), sessions: [session('x2', 'nodes-room')], rooms: [room('nodes-room')] }));
      await store.write(batch('alive', { sessions: [session('x3', 'nodes-room', { disconnectedAt: at(5) })] }));
      const [record] = await store.getRooms(['nodes-room']);
      assert.deepEqual(record.nodes, ['alive']);
      const states = Object.fromEntries((await store.recentSessions('nodes-room', 10)).map((s) => [s.id, s.state]));
      assert.deepEqual(states, { x1: 'open', x2: 'lost', x3: 'closed' });
    });

    it("closes a node's sessions left open by an earlier run when it starts again, and only those", async () => {
      await store.write(batch('restarting', { rooms: [room('crash')], sessions: [session('before-crash', 'crash', { connectedAt: at(0) })] }));
      await store.write(
        batch('restarting', { nodeStartedAt: at(100), rooms: [room('crash')], sessions: [session('after-restart', 'crash', { connectedAt: at(101) })] }),
      );
      // The same first batch again (a retry): sessions of the new run stay open.
      await store.write(batch('restarting', { nodeStartedAt: at(100), sessions: [] }));
      const sessions = Object.fromEntries((await store.recentSessions('crash', 10)).map((s) => [s.id, s]));
      assert.equal(sessions['before-crash'].state, 'closed');
      assert.equal(sessions['before-crash'].disconnectedAt?.getTime(), at(100).getTime());
      assert.equal(sessions['after-restart'].state, 'open');
    });

    it('returns recent sessions newest first, limited, with their message counts', async () => {
      await store.write(
        batch('n1', {
          rooms: [room('history')],
          sessions: Array.from({ length: 6 }, (_, i) => session(`h${i}`, 'history', { connectedAt: at(i), disconnectedAt: at(i + 1), messagesIn: i, messagesOut: 2 * i, readOnly: i === 5 })),
        }),
      );
      const recent = await store.recentSessions('history', 3);
      assert.deepEqual(
        recent.map((s) => [s.id, s.messagesIn, s.messagesOut, s.readOnly, s.nodeId]),
        [
          ['h5', 5, 10, true, 'n1'],
          ['h4', 4, 8, false, 'n1'],
          ['h3', 3, 6, false, 'n1'],
        ],
      );
      assert.deepEqual(await store.recentSessions('no-such-room', 3), []);
    });

    it('sorts, filters by a literal prefix, excludes names and paginates', async () => {
      // 'ﬀ' (U+FB00) sorts before '😀' (U+1F600) by code point, as in Postgres, though not by UTF-16 unit.
      const names = ['list/a', 'list/b', 'list/c', 'list/d', 'list/é', 'list/😀', 'list/ﬀ', 'list%', 'list_x'];
      await store.write(
        batch('n1', {
          rooms: names.map((name, i) => room(name, { lastActivityAt: at(100 + i), documentBytes: i === 2 ? null : i * 10, documentBytesAt: at(1) })),
        }),
      );
      const page = (query: Partial<RoomListQuery>) => store.listRooms({ ...everything, ...query });
      const slash = await page({ prefix: 'list/' });
      assert.equal(slash.total, 7);
      assert.deepEqual(
        slash.rooms.map((r) => r.name),
        ['list/a', 'list/b', 'list/c', 'list/d', 'list/é', 'list/ﬀ', 'list/😀'],
      );
      assert.deepEqual(
        (await page({ prefix: 'list%' })).rooms.map((r) => r.name),
        ['list%'],
      );
      assert.deepEqual(
        (await page({ prefix: 'list_' })).rooms.map((r) => r.name),
        ['list_x'],
      );
      const recent = await page({ prefix: 'list/', sort: 'lastActivity', descending: true, offset: 1, limit: 2, exclude: ['list/😀', 'list/ﬀ'] });
      assert.equal(recent.total, 5);
      assert.deepEqual(
        recent.rooms.map((r) => r.name),
        ['list/d', 'list/c'],
      );
      const bySize = await page({ prefix: 'list/', sort: 'documentBytes', descending: true, exclude: ['list/ﬀ'] });
      assert.deepEqual(
        bySize.rooms.map((r) => r.name),
        ['list/😀', 'list/é', 'list/d', 'list/b', 'list/a', 'list/c'],
        'a room never measured sorts last',
      );
      const past = await page({ prefix: 'list/', offset: 50 });
      assert.deepEqual(past.rooms, []);
      assert.equal(past.total, 7);
    });
  });
}

describeMetadataStore('embedded', () => new EmbeddedMetadataStore({ nodeTimeoutMs: 60_000 }));

const schema = freshSchemaName();
describeMetadataStore('Postgres', () => new PostgresMetadataStore({ connectionString: DATABASE_URL, schema, logger: silentLogger }), () => dropSchema(schema));

describe('Postgres metadata store, beyond the shared specification', () => {
  const schemaName = freshSchemaName();
  const stores: PostgresMetadataStore[] = [];
  const open = () => {
    const store = new PostgresMetadataStore({ connectionString: DATABASE_URL, schema: schemaName, logger: silentLogger });
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await dropSchema(schemaName);
  });

  it('creates its schema once when several nodes start at the same time, and migrates idempotently', async () => {
    await Promise.all([open().start(), open().start(), open().start()]);
    await open().start();
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    try {
      const { rows } = await pool.query<{ version: number }>(`SELECT version FROM "${schemaName}".migrations ORDER BY version`);
      assert.deepEqual(
        rows.map((row) => row.version),
        [1],
      );
    } finally {
      await pool.end();
    }
  });

  it('keeps its records across a restart', async () => {
    const first = open();
    await first.write(batch('n1', { rooms: [room('durable', { documentBytes: 1234, documentBytesAt: at(1), peakConnections: 2 })], sessions: [session('d1', 'durable')] }));
    await first.close();
    const second = open();
    const [record] = await second.getRooms(['durable']);
    assert.equal(record.documentBytes, 1234);
    assert.equal(record.peakConnections, 2);
    assert.equal((await second.recentSessions('durable', 10)).length, 1);
  });

  it('refuses a schema name that is not a plain identifier, and a missing connection string', () => {
    assert.throws(() => new PostgresMetadataStore({ connectionString: DATABASE_URL, schema: 'x"; DROP TABLE y; --' }), /schema/);
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      assert.throws(() => new PostgresMetadataStore(), /DATABASE_URL/);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});
