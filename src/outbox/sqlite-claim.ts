import type { Envelope } from '../envelope.js';
import type { ClaimRequest } from '../ports/outbox.js';
import { type MessageRow, rowToEnvelope } from './row-codec.js';
import type { Statements } from './sqlite-statements.js';

/**
 * Leases up to `limit` due messages to `owner`, inside the caller's transaction. Candidates are heads only
 * (see `is_head` in the schema): accepted and due, or delivering under an expired lease. A keyed head is
 * skipped while any message of its key is under someone's live lease, which only happens after a dead
 * message with a lower seq was requeued in front of one in flight.
 */
export function claimDue(st: Statements, request: ClaimRequest, now: number): Envelope[] {
  const { limit, leaseMs, owner } = request;
  const due = st.dueHeads.all({ now, limit });
  const expired = st.expiredHeads.all({ now, limit });
  const candidates = expired.length === 0 ? due : mergeByDueTime(due, expired);
  const until = now + leaseMs;
  const keys = new Set<string>();
  const claimed: Envelope[] = [];
  for (const row of candidates) {
    if (claimed.length >= limit) break;
    if (row.key !== null) {
      const k = `${row.topic}\u0000${row.key}`;
      if (keys.has(k)) continue;
      keys.add(k);
      if (st.keyLeased.get({ topic: row.topic, key: row.key, now }) !== undefined) continue;
    }
    st.lease.run({ id: row.id, owner, until });
    claimed.push(rowToEnvelope({ ...row, attempts: row.attempts + 1 }));
  }
  return claimed;
}

/** Makes the lowest open seq of a key its head, after the previous head was delivered or dead. */
export function promoteHead(st: Statements, topic: string, key: string): void {
  const head = st.keyHead.get({ topic, key });
  if (head !== undefined && head.is_head === 0) st.setHead.run({ id: head.id, head: 1 });
}

/**
 * Returns a dead message to `accepted`. For a keyed one, the head of its key is recomputed: a requeued
 * message with a lower seq goes before the key's current head, which waits again.
 */
export function requeueRow(st: Statements, row: MessageRow, now: number): void {
  if (row.key === null) {
    st.requeue.run({ id: row.id, now });
    st.setHead.run({ id: row.id, head: 1 });
    return;
  }
  const before = st.keyHead.get({ topic: row.topic, key: row.key });
  st.requeue.run({ id: row.id, now });
  const after = st.keyHead.get({ topic: row.topic, key: row.key })!;
  if (before !== undefined && before.id !== after.id) st.setHead.run({ id: before.id, head: 0 });
  st.setHead.run({ id: after.id, head: 1 });
}

function mergeByDueTime(due: MessageRow[], expired: MessageRow[]): MessageRow[] {
  const at = (row: MessageRow): number =>
    row.state === 'delivering' ? (row.lease_until ?? 0) : row.next_attempt_at;
  return [...due, ...expired].sort((a, b) => at(a) - at(b));
}
