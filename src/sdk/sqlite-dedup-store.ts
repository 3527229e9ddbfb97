import Database from 'better-sqlite3';
import type { DedupStore, HandledEntry } from './dedup-store.js';

/**
 * A dedup store in a SQLite file (better-sqlite3), so a group's inbox survives restarts. Several consumer
 * processes of one group on one host may share the file: WAL mode and a busy timeout let them write in
 * turn. Rows are scoped by group, so one file can serve several groups. `synchronous=NORMAL`: a power loss
 * may forget the last few records, which only means those messages are handled again (at-least-once).
 */
export class SqliteDedupStore implements DedupStore {
  readonly #db: Database.Database;
  readonly #group: string;
  readonly #has: Database.Statement<[string, string]>;
  readonly #last: Database.Statement<[string, string, string]>;
  readonly #record: (entry: HandledEntry) => void;
  #closed = false;

  constructor(path: string, group: string) {
    this.#group = group;
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS handled (grp TEXT NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (grp, id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS last_seq (grp TEXT NOT NULL, topic TEXT NOT NULL, key TEXT NOT NULL,
        seq INTEGER NOT NULL, PRIMARY KEY (grp, topic, key)) WITHOUT ROWID;`);
    this.#has = this.#db.prepare('SELECT 1 FROM handled WHERE grp = ? AND id = ?');
    this.#last = this.#db.prepare('SELECT seq FROM last_seq WHERE grp = ? AND topic = ? AND key = ?');
    const insertId = this.#db.prepare('INSERT OR IGNORE INTO handled (grp, id, at) VALUES (?, ?, ?)');
    const upsertSeq = this.#db.prepare(
      `INSERT INTO last_seq (grp, topic, key, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (grp, topic, key) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
    );
    this.#record = this.#db.transaction((entry: HandledEntry) => {
      insertId.run(group, entry.id, Date.now());
      if (entry.key !== undefined) upsertSeq.run(group, entry.topic, entry.key, entry.seq);
    });
  }

  has(id: string): boolean {
    return this.#has.get(this.#group, id) !== undefined;
  }

  lastSeq(topic: string, key: string): number | undefined {
    const row = this.#last.get(this.#group, topic, key) as { seq: number } | undefined;
    return row?.seq;
  }

  record(entry: HandledEntry): void {
    this.#record(entry);
  }

  forgetSeqs(): void {
    // Shared by the group's members (same file), so never behind another member.
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
