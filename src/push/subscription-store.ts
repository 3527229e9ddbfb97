import Database from 'better-sqlite3';
import pg from 'pg';
import type { SubscriptionConfig } from '../config/types.js';

/**
 * Where push subscriptions created over HTTP are kept, so they survive a restart. Writes are durable before
 * the promise resolves (and so before `POST /v1/subscriptions` answers).
 */
export interface SubscriptionStore {
  open(): Promise<void>;
  list(): Promise<SubscriptionConfig[]>;
  /** Inserts; false when the name is taken. */
  add(spec: SubscriptionConfig): Promise<boolean>;
  /** Deletes; false when there was none. */
  remove(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The SQLite outbox's store: a table of its own (`push_subscriptions`) in the outbox's file, over a second
 * connection (WAL allows it), fsync'd (`synchronous = FULL`). The file belongs to one gateway.
 */
export class SqliteSubscriptionStore implements SubscriptionStore {
  readonly #path: string;
  #db: Database.Database | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = new Database(this.#path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(
      'CREATE TABLE IF NOT EXISTS push_subscriptions (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL)',
    );
    this.#db = db;
  }

  async list(): Promise<SubscriptionConfig[]> {
    const rows = (await this.#open())
      .prepare('SELECT spec FROM push_subscriptions ORDER BY created_at, name')
      .all();
    return (rows as { spec: string }[]).map((r) => JSON.parse(r.spec) as SubscriptionConfig);
  }

  async add(spec: SubscriptionConfig): Promise<boolean> {
    const result = (await this.#open())
      .prepare('INSERT OR IGNORE INTO push_subscriptions (name, spec, created_at) VALUES (?, ?, ?)')
      .run(spec.name, JSON.stringify(spec), new Date().toISOString());
    return result.changes === 1;
  }

  async remove(name: string): Promise<boolean> {
    return (
      (await this.#open()).prepare('DELETE FROM push_subscriptions WHERE name = ?').run(name).changes === 1
    );
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }

  async #open(): Promise<Database.Database> {
    await this.open();
    return this.#db!;
  }
}

/**
 * The Postgres outbox's store: table `mqgate_push_subscriptions` in the shared database, so every replica
 * starts the same runtime subscriptions (a replica picks up one created on another when it restarts).
 */
export class PostgresSubscriptionStore implements SubscriptionStore {
  readonly #url: string;
  #pool: pg.Pool | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  /** Connects; the table is created by the outbox's migration (postgres-schema.ts), which runs first. */
  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = new pg.Pool({ connectionString: this.#url, max: 2, options: '-c synchronous_commit=on' });
    pool.on('error', () => {}); // a dropped idle connection is replaced on the next query
    this.#pool = pool;
  }

  async list(): Promise<SubscriptionConfig[]> {
    const { rows } = await (await this.#open()).query<{ spec: string }>(
      'SELECT spec FROM mqgate_push_subscriptions ORDER BY created_at, name',
    );
    return rows.map((r) => JSON.parse(r.spec) as SubscriptionConfig);
  }

  async add(spec: SubscriptionConfig): Promise<boolean> {
    const result = await (await this.#open()).query(
      `INSERT INTO mqgate_push_subscriptions (name, spec, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO NOTHING`,
      [spec.name, JSON.stringify(spec), new Date().toISOString()],
    );
    return result.rowCount === 1;
  }

  async remove(name: string): Promise<boolean> {
    const result = await (await this.#open()).query('DELETE FROM mqgate_push_subscriptions WHERE name = $1', [
      name,
    ]);
    return result.rowCount === 1;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }

  async #open(): Promise<pg.Pool> {
    await this.open();
    return this.#pool!;
  }
}
