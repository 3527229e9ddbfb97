import type Database from 'better-sqlite3';
import { MqgateError } from '../errors.js';

/** The schema version this code writes; stored in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 2;

/**
 * Each entry brings a database from version `index` to `index + 1`. Migrations only ever append: a released
 * entry is never edited, so a database created by any release can be brought forward step by step.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: the first schema.
  `
  CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    topic           TEXT NOT NULL,
    key             TEXT,               -- NULL: keyless, no ordering among them
    seq             INTEGER NOT NULL,   -- per (topic, key); keyless messages count per topic
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    subject         TEXT,
    time            TEXT NOT NULL,
    datacontenttype TEXT NOT NULL,
    headers         TEXT NOT NULL,      -- JSON object of strings
    data            BLOB NOT NULL,
    traceparent     TEXT,
    state           TEXT NOT NULL CHECK (state IN ('accepted', 'delivering', 'delivered', 'dead')),
    -- 1 when per-key order lets this message go now: keyless messages always, a keyed one only while it is
    -- the lowest seq of its key that is neither delivered nor dead. Kept up to date on every transition so
    -- that claim() reads heads from an index instead of skipping over every queued message of a busy key.
    is_head         INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,   -- epoch ms
    lease_owner     TEXT,
    lease_until     INTEGER,            -- epoch ms
    accepted_at     INTEGER NOT NULL,   -- epoch ms
    delivered_at    INTEGER,            -- epoch ms
    backend         TEXT,
    "partition"     INTEGER,
    "offset"        TEXT,
    error_code      TEXT,
    error_message   TEXT,
    size_bytes      INTEGER NOT NULL    -- data + headers, counted against maxBytes while open
  );

  -- The last seq handed out per (topic, key); key '' is the topic's keyless stream. Outlives pruned messages
  -- so that a seq is never handed out twice.
  CREATE TABLE key_seq (
    topic    TEXT NOT NULL,
    key      TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (topic, key)
  ) WITHOUT ROWID;

  -- claim(): due heads, oldest first.
  CREATE INDEX messages_due ON messages (next_attempt_at) WHERE state = 'accepted' AND is_head = 1;
  -- claim(): expired leases, and whether a key is held under a live lease. Few rows: only in-flight ones.
  CREATE INDEX messages_leased ON messages (topic, key, lease_until) WHERE state = 'delivering';
  -- Per-key order: the lowest open seq of a key.
  CREATE INDEX messages_key_open ON messages (topic, key, seq) WHERE state IN ('accepted', 'delivering');
  -- stats(): oldest open message.
  CREATE INDEX messages_open_age ON messages (accepted_at) WHERE state IN ('accepted', 'delivering');
  -- prune(): delivered rows past retention.
  CREATE INDEX messages_prune ON messages (delivered_at) WHERE state = 'delivered';
  -- listDead(): the dead-letter store, paged by id.
  CREATE INDEX messages_dead ON messages (id) WHERE state = 'dead';
  `,
  // 1 -> 2: per-backend acknowledgements of a message on a mirror route, as a JSON object
  // { "<backend>": { "partition"?, "offset"?, "at" } }; NULL for failover and balance routes.
  `
  ALTER TABLE messages ADD COLUMN mirror TEXT;
  `,
];

/**
 * Brings the database to {@link SCHEMA_VERSION} in one transaction. Refuses a database written by a newer
 * release rather than guessing at its schema.
 */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new MqgateError(
      'MQGATE_ERR_OUTBOX_UNAVAILABLE',
      `outbox schema version ${current} is newer than this release understands (${SCHEMA_VERSION})`,
    );
  }
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    // PRAGMA does not take parameters; the value is our own integer constant.
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Sets the durability pragmas: WAL, and `synchronous = NORMAL`, with which COMMIT writes the WAL frames with
 * write(2) and does not fsync; the outbox makes each group durable itself with an fdatasync of the WAL on
 * libuv's thread pool before it acknowledges ({@link GroupCommitter}). SQLite still syncs the WAL before each
 * checkpoint copies it into the database file, and the database file after. Set explicitly: the build's
 * default (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1) only applies once the WAL is first used, so a read-back right
 * after `journal_mode = WAL` could show another level. Check with {@link checkPragmas} after the first read.
 */
export function applyPragmas(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
}

/** The synchronous level the outbox runs at: NORMAL (1); its own fdatasync makes commits durable. */
export const SYNCHRONOUS_NORMAL = 1;

/** The connection's journal mode (lower-case) and synchronous level (1 = NORMAL), as SQLite reports them. */
export function readPragmas(db: Database.Database): { journalMode: string; synchronous: number } {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
  };
}

/**
 * Reads the durability pragmas back and throws unless they are WAL and NORMAL (1). Anything else is refused
 * rather than tolerated: FULL would put an fsync back on the event loop, OFF would skip the checkpoint syncs
 * that let SQLite reuse the WAL safely, and another journal mode has no WAL to fdatasync.
 */
export function checkPragmas(db: Database.Database): void {
  const { journalMode, synchronous } = readPragmas(db);
  if (journalMode !== 'wal' || synchronous !== SYNCHRONOUS_NORMAL) {
    throw new MqgateError(
      'MQGATE_ERR_OUTBOX_UNAVAILABLE',
      `outbox durability pragmas not applied: journal_mode=${journalMode} synchronous=${synchronous}`,
    );
  }
}
