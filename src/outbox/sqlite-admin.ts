import type Database from 'better-sqlite3';
import { MqgateError } from '../errors.js';
import type { AppendResult } from '../ports/outbox.js';
import type { TopicOutboxStats } from '../ports/outbox-admin.js';
import { encodeMessage, rowToEnvelope } from './row-codec.js';
import { appendRows } from './sqlite-append.js';
import { OPEN_STATES, type Statements } from './sqlite-statements.js';

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

/** The id a dead message gets when it is replayed to `topic` (ids are unique across topics). */
export function replayId(id: string, topic: string): string {
  return `${id}~replay~${topic}`;
}

/**
 * Inside the caller's write: appends dead message `id` to `topic` as a new message (id {@link replayId},
 * next seq of its key there, same key, data and headers plus `replayed-from: <id>`) and deletes the dead
 * one. Throws NOT_FOUND unless `id` is dead, ID_CONFLICT if the new id is taken; the budget never refuses it.
 */
export function replayRowTo(
  st: Statements,
  admin: AdminStatements,
  id: string,
  topic: string,
  now: number,
): { result: AppendResult; addedBytes: number } {
  const row = st.byId.get(id);
  if (row?.state !== 'dead') {
    throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
  }
  const newId = replayId(id, topic);
  if (st.idTopicSeq.get(newId) !== undefined) {
    throw new MqgateError('MQGATE_ERR_ID_CONFLICT', `id '${newId}' is taken (replayed before?)`, {
      context: { id: newId, topic },
    });
  }
  const { seq: _seq, attempt: _attempt, ...envelope } = rowToEnvelope(row);
  const message = { ...envelope, id: newId, topic, headers: { ...envelope.headers, 'replayed-from': id } };
  const { results, addedBytes } = appendRows(st, [encodeMessage(message)], { now, freeBytes: Infinity });
  deleteDeadRow(admin, id);
  return { result: results[0]!, addedBytes };
}
