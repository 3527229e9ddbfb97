import type Database from 'better-sqlite3';
import { MqgateError } from '../errors.js';
import type { TopicOutboxStats } from '../ports/outbox-admin.js';
import { OPEN_STATES } from './sqlite-statements.js';

/** Statements of the admin views, apart from the hot path's (prepared once at open). */
export interface AdminStatements {
  readonly deleteDead: Database.Statement<{ id: string }>;
  readonly byTopic: Database.Statement<
    [],
    { topic: string; depth: number; bytes: number | null; oldest: number | null; dead: number }
  >;
}

export function prepareAdminStatements(db: Database.Database): AdminStatements {
  return {
    deleteDead: db.prepare<{ id: string }>("DELETE FROM messages WHERE id = @id AND state = 'dead'"),
    // Delivered rows are skipped: they are history, not backlog.
    byTopic: db.prepare(
      `SELECT topic,
         SUM(CASE WHEN ${OPEN_STATES} THEN 1 ELSE 0 END) AS depth,
         SUM(CASE WHEN ${OPEN_STATES} THEN size_bytes ELSE 0 END) AS bytes,
         MIN(CASE WHEN ${OPEN_STATES} THEN accepted_at END) AS oldest,
         SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead
       FROM messages WHERE state <> 'delivered' GROUP BY topic ORDER BY topic`,
    ),
  };
}

/** Deletes a dead message; throws MQGATE_ERR_NOT_FOUND unless `id` names one. */
export function deleteDeadRow(st: AdminStatements, id: string): void {
  if (st.deleteDead.run({ id }).changes === 0) {
    throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
  }
}

export function topicStats(st: AdminStatements, now: number): TopicOutboxStats[] {
  return st.byTopic.all().map((r) => ({
    topic: r.topic,
    depth: r.depth,
    bytes: r.bytes ?? 0,
    oldestAgeMs: r.oldest === null ? 0 : Math.max(0, now - r.oldest),
    dead: r.dead,
  }));
}
