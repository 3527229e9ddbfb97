import type { PoolClient } from 'pg';
import { MqgateError } from '../errors.js';

/** The schema version this code writes; stored in `mqgate_schema`. */
export const PG_SCHEMA_VERSION = 1;

/** Rows of `mqgate_budget`: the open bytes are spread over them so that concurrent writers rarely share one. */
export const BUDGET_SHARDS = 64;

/**
 * Each entry brings a database from version `index` to `index + 1`; a released entry is never edited. Every
 * table carries the `mqgate_` prefix: the database may be shared with the application's own tables.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: the first schema, the SQLite outbox's columns (see sqlite-schema.ts for what each means).
  `
  CREATE TABLE mqgate_messages (
    id              text PRIMARY KEY,
    topic           text NOT NULL,
    key             text,
    seq             bigint NOT NULL,
    type            text NOT NULL,
    source          text NOT NULL,
    subject         text,
    time            text NOT NULL,
    datacontenttype text NOT NULL,
    headers         text NOT NULL,
    data            bytea NOT NULL,
    traceparent     text,
    state           text NOT NULL CHECK (state IN ('accepted', 'delivering', 'delivered', 'dead')),
    is_head         smallint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,
    lease_owner     text,
    lease_until     bigint,
    accepted_at     bigint NOT NULL,
    delivered_at    bigint,
    backend         text,
    "partition"     integer,
    "offset"        text,
    error_code      text,
    error_message   text,
    size_bytes      integer NOT NULL,
    mirror          text
  );

  -- The last seq handed out per (topic, key), key '' for the keyless stream. Its rows are also the per-key
  -- locks that serialise appends and state changes of one key across replicas.
  CREATE TABLE mqgate_key_seq (
    topic    text NOT NULL,
    key      text NOT NULL,
    last_seq bigint NOT NULL,
    PRIMARY KEY (topic, key)
  );

  -- Bytes of open messages, the sum of all rows; each transaction adds its delta to one row picked at random.
  CREATE TABLE mqgate_budget (
    shard integer PRIMARY KEY,
    bytes bigint NOT NULL
  );
  INSERT INTO mqgate_budget (shard, bytes) SELECT g, 0 FROM generate_series(0, ${BUDGET_SHARDS - 1}) AS g;

  CREATE INDEX mqgate_messages_due ON mqgate_messages (next_attempt_at)
    WHERE state = 'accepted' AND is_head = 1;
  CREATE INDEX mqgate_messages_expired ON mqgate_messages (lease_until)
    WHERE state = 'delivering' AND is_head = 1;
  CREATE INDEX mqgate_messages_leased ON mqgate_messages (topic, key, lease_until)
    WHERE state = 'delivering';
  CREATE INDEX mqgate_messages_key_open ON mqgate_messages (topic, key, seq)
    WHERE state IN ('accepted', 'delivering');
  CREATE INDEX mqgate_messages_open_age ON mqgate_messages (accepted_at)
    WHERE state IN ('accepted', 'delivering');
  CREATE INDEX mqgate_messages_prune ON mqgate_messages (delivered_at) WHERE state = 'delivered';
  CREATE INDEX mqgate_messages_dead ON mqgate_messages (id) WHERE state = 'dead';

  -- Push subscriptions created over HTTP (src/push/subscription-store.ts).
  CREATE TABLE mqgate_push_subscriptions (
    name       text PRIMARY KEY,
    spec       text NOT NULL,
    created_at text NOT NULL
  );
  `,
];

/** Any 64-bit number of our own: the advisory lock that lets one replica at a time migrate. */
const MIGRATION_LOCK = 0x6d71_6761_7465;

/**
 * Brings the database to {@link PG_SCHEMA_VERSION} in one transaction, under an advisory lock so that replicas
 * starting together migrate once. Refuses a database written by a newer release.
 */
export async function migratePostgres(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS mqgate_schema (version integer NOT NULL)');
    const found = await client.query<{ version: number }>('SELECT version FROM mqgate_schema');
    const current = found.rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) {
      throw new MqgateError(
        'MQGATE_ERR_OUTBOX_UNAVAILABLE',
        `outbox schema version ${current} is newer than this release understands (${PG_SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < PG_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version]!);
    }
    if (found.rows.length === 0) {
      await client.query('INSERT INTO mqgate_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    } else if (current !== PG_SCHEMA_VERSION) {
      await client.query('UPDATE mqgate_schema SET version = $1', [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * Refuses a server that would acknowledge a commit before it is on disk: `fsync` off (server-wide), or a
 * `synchronous_commit` of `off` for our sessions (which set it `on` at connect).
 */
export async function checkPostgresDurability(client: PoolClient): Promise<void> {
  const fsync = (await client.query<{ fsync: string }>('SHOW fsync')).rows[0]?.fsync;
  const sync = (await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
    ?.synchronous_commit;
  if (fsync !== 'on' || sync === 'off') {
    throw new MqgateError(
      'MQGATE_ERR_OUTBOX_UNAVAILABLE',
      `outbox database does not make commits durable: fsync=${fsync} synchronous_commit=${sync}`,
    );
  }
}
