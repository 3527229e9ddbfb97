import Database from 'better-sqlite3';
import type { SubscriptionConfig } from '../config/types.js';

/**
 * Push subscriptions created over HTTP, kept in a table of their own (`push_subscriptions`) in the outbox's
 * SQLite file, so they survive a restart. A second connection to the file (WAL allows it); writes are
 * fsync'd (`synchronous = FULL`) before `POST /v1/subscriptions` answers. The file belongs to one gateway:
 * replicas do not see each other's runtime subscriptions (put shared ones in the config file).
 */
export class SubscriptionStore {
  readonly #path: string;
  #db: Database.Database | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  open(): void {
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

  list(): SubscriptionConfig[] {
    const rows = this.#open().prepare('SELECT spec FROM push_subscriptions ORDER BY created_at, name').all();
    return (rows as { spec: string }[]).map((r) => JSON.parse(r.spec) as SubscriptionConfig);
  }

  /** Inserts; false when the name is taken. */
  add(spec: SubscriptionConfig): boolean {
    const result = this.#open()
      .prepare('INSERT OR IGNORE INTO push_subscriptions (name, spec, created_at) VALUES (?, ?, ?)')
      .run(spec.name, JSON.stringify(spec), new Date().toISOString());
    return result.changes === 1;
  }

  remove(name: string): boolean {
    return this.#open().prepare('DELETE FROM push_subscriptions WHERE name = ?').run(name).changes === 1;
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }

  #open(): Database.Database {
    this.open();
    return this.#db!;
  }
}
