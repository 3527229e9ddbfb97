import type { AppendResult, MessageStatus } from './outbox.js';

/** One page of the dead-letter store, ordered by id. */
export interface DeadPageRequest {
  readonly topic?: string;
  readonly limit: number;
  /** Id of the last message of the previous page. */
  readonly after?: string;
}

/** Open (undelivered) messages of one topic. */
export interface TopicOutboxStats {
  readonly topic: string;
  /** Messages accepted or being delivered. */
  readonly depth: number;
  readonly bytes: number;
  /** Age of the oldest open message, 0 when none. */
  readonly oldestAgeMs: number;
  readonly dead: number;
}

/**
 * The dead-letter store and per-topic views an outbox may offer to the admin API (an optional ability,
 * detected with {@link isOutboxAdmin}).
 *
 * - `listDead` pages by id (`after` = last id of the previous page).
 * - `requeueDead` puts a dead message back as `accepted` under the same id and seq; NOT_FOUND unless dead.
 * - `replayDeadTo` re-accepts a dead message on another topic as a NEW message, all-or-nothing in one
 *   transaction: id `<id>~replay~<topic>` (ids are unique across topics), the next seq of its key on that
 *   topic, the same key, data and headers plus `replayed-from: <id>`; the dead one is deleted. NOT_FOUND
 *   unless dead; MQGATE_ERR_ID_CONFLICT if the new id is taken (nothing changes then).
 * - `deleteDead` removes a dead message for good; NOT_FOUND unless dead.
 */
export interface OutboxAdmin {
  listDead(request: DeadPageRequest): Promise<MessageStatus[]>;
  requeueDead(id: string): Promise<void>;
  replayDeadTo(id: string, topic: string): Promise<AppendResult>;
  deleteDead(id: string): Promise<void>;
  topicStats(): Promise<TopicOutboxStats[]>;
}

export function isOutboxAdmin(outbox: unknown): outbox is OutboxAdmin {
  const o = outbox as Partial<OutboxAdmin> | null;
  return (
    typeof o?.listDead === 'function' &&
    typeof o.requeueDead === 'function' &&
    typeof o.replayDeadTo === 'function' &&
    typeof o.deleteDead === 'function' &&
    typeof o.topicStats === 'function'
  );
}
