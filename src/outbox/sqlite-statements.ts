import type Database from 'better-sqlite3';
import type { MessageRow, NewRowParams } from './row-codec.js';

/** States in which a message still waits for delivery and counts against the budget. */
export const OPEN_STATES = "state IN ('accepted', 'delivering')";

/**
 * Every statement the outbox runs, prepared once at start. The `state IN (...)` terms are written exactly as
 * in the partial indexes' WHERE clauses so that SQLite's planner can use those indexes.
 */
export function prepareStatements(db: Database.Database): Statements {
  return {
    byId: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE id = ?'),
    idTopicSeq: db.prepare<[string], Pick<MessageRow, 'topic' | 'seq'>>(
      'SELECT topic, seq FROM messages WHERE id = ?',
    ),
    nextSeq: db.prepare<{ topic: string; key: string }, { last_seq: number }>(
      `INSERT INTO key_seq (topic, key, last_seq) VALUES (@topic, @key, 1)
       ON CONFLICT (topic, key) DO UPDATE SET last_seq = last_seq + 1
       RETURNING last_seq`,
    ),
    keyHasOpen: db.prepare<{ topic: string; key: string }, { one: number }>(
      `SELECT 1 AS one FROM messages WHERE topic = @topic AND key = @key AND ${OPEN_STATES} LIMIT 1`,
    ),
    insert: db.prepare<NewRowParams>(
      `INSERT INTO messages (id, topic, key, seq, type, source, subject, time, datacontenttype, headers, data,
         traceparent, state, is_head, attempts, next_attempt_at, accepted_at, size_bytes)
       VALUES (@id, @topic, @key, @seq, @type, @source, @subject, @time, @datacontenttype, @headers, @data,
         @traceparent, 'accepted', @is_head, 0, @now, @now, @size_bytes)`,
    ),
    dueHeads: db.prepare<{ now: number; limit: number }, MessageRow>(
      `SELECT * FROM messages WHERE state = 'accepted' AND is_head = 1 AND next_attempt_at <= @now
       ORDER BY next_attempt_at LIMIT @limit`,
    ),
    expiredHeads: db.prepare<{ now: number; limit: number }, MessageRow>(
      `SELECT * FROM messages WHERE state = 'delivering' AND is_head = 1 AND lease_until <= @now
       ORDER BY lease_until LIMIT @limit`,
    ),
    keyLeased: db.prepare<{ topic: string; key: string; now: number }, { one: number }>(
      `SELECT 1 AS one FROM messages WHERE state = 'delivering' AND topic = @topic AND key = @key
         AND lease_until > @now LIMIT 1`,
    ),
    lease: db.prepare<{ id: string; owner: string; until: number }>(
      `UPDATE messages SET state = 'delivering', lease_owner = @owner, lease_until = @until,
         attempts = attempts + 1 WHERE id = @id`,
    ),
    delivered: db.prepare<{
      id: string;
      backend: string;
      partition: number | null;
      offset: string | null;
      now: number;
    }>(
      `UPDATE messages SET state = 'delivered', delivered_at = @now, backend = @backend,
         "partition" = @partition, "offset" = @offset, lease_owner = NULL, lease_until = NULL, is_head = 0
       WHERE id = @id`,
    ),
    mirrored: db.prepare<{ id: string; path: string; receipt: string }>(
      `UPDATE messages SET mirror = json_set(coalesce(mirror, '{}'), @path, json(@receipt))
       WHERE id = @id AND state = 'delivering'`,
    ),
    retry: db.prepare<{ id: string; code: string; message: string; at: number }>(
      `UPDATE messages SET state = 'accepted', next_attempt_at = @at, lease_owner = NULL, lease_until = NULL,
         error_code = @code, error_message = @message WHERE id = @id`,
    ),
    release: db.prepare<{ id: string; at: number }>(
      `UPDATE messages SET state = 'accepted', next_attempt_at = @at, lease_owner = NULL, lease_until = NULL,
         attempts = MAX(attempts - 1, 0) WHERE id = @id`,
    ),
    dead: db.prepare<{ id: string; code: string; message: string }>(
      `UPDATE messages SET state = 'dead', lease_owner = NULL, lease_until = NULL, is_head = 0,
         error_code = @code, error_message = @message WHERE id = @id`,
    ),
    requeue: db.prepare<{ id: string; now: number }>(
      `UPDATE messages SET state = 'accepted', attempts = 0, next_attempt_at = @now, lease_owner = NULL,
         lease_until = NULL WHERE id = @id`,
    ),
    keyHead: db.prepare<{ topic: string; key: string }, { id: string; is_head: number }>(
      `SELECT id, is_head FROM messages WHERE topic = @topic AND key = @key AND ${OPEN_STATES}
       ORDER BY seq LIMIT 1`,
    ),
    setHead: db.prepare<{ id: string; head: number }>('UPDATE messages SET is_head = @head WHERE id = @id'),
    openBytes: db.prepare<[], { bytes: number | null }>(
      `SELECT SUM(size_bytes) AS bytes FROM messages WHERE ${OPEN_STATES}`,
    ),
    openStats: db.prepare<[], { depth: number; oldest: number | null }>(
      `SELECT COUNT(*) AS depth, MIN(accepted_at) AS oldest FROM messages WHERE ${OPEN_STATES}`,
    ),
    deadCount: db.prepare<[], { dead: number }>("SELECT COUNT(*) AS dead FROM messages WHERE state = 'dead'"),
    listDead: db.prepare<{ topic: string | null; after: string; limit: number }, MessageRow>(
      `SELECT * FROM messages WHERE state = 'dead' AND id > @after AND (@topic IS NULL OR topic = @topic)
       ORDER BY id LIMIT @limit`,
    ),
    prune: db.prepare<{ before: number; limit: number }>(
      `DELETE FROM messages WHERE rowid IN (SELECT rowid FROM messages
         WHERE state = 'delivered' AND delivered_at < @before LIMIT @limit)`,
    ),
  };
}

/** The prepared statements, named by what they do. */
export interface Statements {
  readonly byId: Database.Statement<[string], MessageRow>;
  readonly idTopicSeq: Database.Statement<[string], Pick<MessageRow, 'topic' | 'seq'>>;
  readonly nextSeq: Database.Statement<{ topic: string; key: string }, { last_seq: number }>;
  readonly keyHasOpen: Database.Statement<{ topic: string; key: string }, { one: number }>;
  readonly insert: Database.Statement<NewRowParams>;
  readonly dueHeads: Database.Statement<{ now: number; limit: number }, MessageRow>;
  readonly expiredHeads: Database.Statement<{ now: number; limit: number }, MessageRow>;
  readonly keyLeased: Database.Statement<{ topic: string; key: string; now: number }, { one: number }>;
  readonly lease: Database.Statement<{ id: string; owner: string; until: number }>;
  readonly mirrored: Database.Statement<{ id: string; path: string; receipt: string }>;
  readonly delivered: Database.Statement<{
    id: string;
    backend: string;
    partition: number | null;
    offset: string | null;
    now: number;
  }>;
  readonly retry: Database.Statement<{ id: string; code: string; message: string; at: number }>;
  readonly release: Database.Statement<{ id: string; at: number }>;
  readonly dead: Database.Statement<{ id: string; code: string; message: string }>;
  readonly requeue: Database.Statement<{ id: string; now: number }>;
  readonly keyHead: Database.Statement<{ topic: string; key: string }, { id: string; is_head: number }>;
  readonly setHead: Database.Statement<{ id: string; head: number }>;
  readonly openBytes: Database.Statement<[], { bytes: number | null }>;
  readonly openStats: Database.Statement<[], { depth: number; oldest: number | null }>;
  readonly deadCount: Database.Statement<[], { dead: number }>;
  readonly listDead: Database.Statement<{ topic: string | null; after: string; limit: number }, MessageRow>;
  readonly prune: Database.Statement<{ before: number; limit: number }>;
}
