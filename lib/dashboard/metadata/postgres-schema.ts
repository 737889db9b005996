/**
 * The metadata schema as numbered migrations. `start()` applies the ones a database has not seen,
 * under an advisory lock, so nodes starting together migrate once. Never edit a released
 * migration: append a new one.
 *
 * Room names use `COLLATE "C"`: byte order, which is the order the dashboard merges rooms in
 * memory with, and lets the primary key serve `LIKE 'prefix%'` searches.
 */
export function migrations(schema: string): readonly string[] {
  const s = `"${schema}"`;
  return [
    `
    CREATE TABLE ${s}.nodes (
      node_id text PRIMARY KEY,
      first_seen_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL
    );
    CREATE TABLE ${s}.rooms (
      name text COLLATE "C" PRIMARY KEY,
      node_id text NOT NULL,
      first_activity_at timestamptz NOT NULL,
      last_activity_at timestamptz NOT NULL,
      document_bytes bigint,
      document_bytes_at timestamptz,
      peak_connections integer NOT NULL DEFAULT 0,
      last_checkpoint_at timestamptz
    );
    CREATE INDEX rooms_last_activity ON ${s}.rooms (last_activity_at);
    -- Both directions keep never-measured rooms (NULL) last; a backward scan of one would put them first.
    CREATE INDEX rooms_document_bytes ON ${s}.rooms (document_bytes ASC NULLS LAST);
    CREATE INDEX rooms_document_bytes_desc ON ${s}.rooms (document_bytes DESC NULLS LAST);
    CREATE TABLE ${s}.sessions (
      id text PRIMARY KEY,
      room text COLLATE "C" NOT NULL,
      node_id text NOT NULL,
      user_id text NOT NULL,
      read_only boolean NOT NULL,
      connected_at timestamptz NOT NULL,
      disconnected_at timestamptz,
      messages_in bigint NOT NULL DEFAULT 0,
      messages_out bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_room_recent ON ${s}.sessions (room, connected_at DESC);
    CREATE INDEX sessions_open ON ${s}.sessions (room, node_id) WHERE disconnected_at IS NULL;
    CREATE INDEX sessions_open_by_node ON ${s}.sessions (node_id) WHERE disconnected_at IS NULL;
    CREATE INDEX sessions_disconnected ON ${s}.sessions (disconnected_at);
    `,
  ];
}
