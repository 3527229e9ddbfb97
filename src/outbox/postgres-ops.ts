import { MqgateError } from '../errors.js';
import type { DeliveryReceipt } from '../ports/backend.js';
import type { AppendResult } from '../ports/outbox.js';
import type { KeyRef, KnownMessage, Outcome, PgBatchRunner, PgTx, PgWriteOp } from './postgres-writer.js';
import type { EncodedMessage, MessageRow } from './row-codec.js';
import { encodeMessage, rowToEnvelope } from './row-codec.js';
import { replayId } from './sqlite-admin.js';
import { FULL_RETRY_AFTER_SEC } from './sqlite-append.js';

/**
 * The write operations of the Postgres outbox, one per port method. Each follows the SQLite outbox's rules
 * (sqlite-outbox.ts, sqlite-claim.ts); what differs is that a key's rows are changed only under its
 * `mqgate_key_seq` row lock, which the group writer takes, so that replicas never race on a key's head.
 */

const OPEN = "state IN ('accepted', 'delivering')";
/** Rows per INSERT statement (15 parameters each, under PostgreSQL's 65,535). */
const INSERT_CHUNK = 1_000;
const INSERT_COLUMNS =
  'id, topic, key, seq, type, source, subject, time, datacontenttype, headers, data, traceparent, state, ' +
  'is_head, attempts, next_attempt_at, accepted_at, size_bytes';

const keyRef = (topic: string, key: string | null): KeyRef => ({ topic, key: key ?? '' });

interface AppendCall {
  readonly encoded: readonly EncodedMessage[];
  readonly maxBytes: number;
}

type AppendOp = PgWriteOp<AppendResult[]> & { readonly call: AppendCall };

/** All the appends of a group in three statements: stored ids, keys with open messages, one INSERT. */
const APPEND_BATCH: PgBatchRunner = {
  run: (tx, ops) =>
    appendCalls(
      tx,
      (ops as readonly AppendOp[]).map((op) => op.call),
    ),
};

/** Appends one call's messages, all or nothing; see `Outbox.append`. */
export function appendOp(encoded: readonly EncodedMessage[], maxBytes: number): AppendOp {
  const call = { encoded, maxBytes };
  return {
    call,
    keys: () => encoded.map((e) => keyRef(e.message.topic, e.key)),
    batch: APPEND_BATCH,
    run: async (tx) => {
      const [outcome] = await appendCalls(tx, [call]);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value as AppendResult[];
    },
  };
}

/**
 * Appends several calls' messages, each call all or nothing: a call that fails (id conflict, budget) stores
 * none of its messages and spends no seq, the others go on. An id stored before, or earlier in these calls,
 * answers as a duplicate with its seq.
 */
async function appendCalls(tx: PgTx, calls: readonly AppendCall[]): Promise<Outcome[]> {
  const all = calls.flatMap((c) => c.encoded);
  const stored = await tx.client.query<{ id: string; topic: string; seq: number }>(
    'SELECT id, topic, seq FROM mqgate_messages WHERE id = ANY($1::text[])',
    [all.map((e) => e.message.id)],
  );
  const seen = new Map(stored.rows.map((r) => [r.id, { topic: r.topic, seq: Number(r.seq) }]));
  const keyed = all.filter((e) => e.key !== null && !seen.has(e.message.id));
  const open = new Set<string>();
  if (keyed.length > 0) {
    const rows = await tx.client.query<{ topic: string; key: string }>(
      `SELECT DISTINCT m.topic, m.key FROM unnest($1::text[], $2::text[]) AS u(topic, key)
       JOIN mqgate_messages AS m ON m.topic = u.topic AND m.key = u.key AND m.${OPEN}`,
      [keyed.map((e) => e.message.topic), keyed.map((e) => e.key)],
    );
    for (const r of rows.rows) open.add(`${r.topic}\u0000${r.key}`);
  }
  const outcomes: Outcome[] = [];
  const rows: unknown[][] = [];
  let added = 0;
  for (const call of calls) {
    const point = tx.checkpoint();
    const mark = { rows: rows.length, added, seen: [] as string[], open: [] as string[] };
    try {
      const results: AppendResult[] = [];
      for (const e of call.encoded) {
        const { id, topic } = e.message;
        const existing = seen.get(id);
        if (existing !== undefined) {
          if (existing.topic !== topic) {
            throw new MqgateError('MQGATE_ERR_ID_CONFLICT', `id '${id}' was already used on another topic`, {
              context: { id, topic },
            });
          }
          results.push({ id, seq: existing.seq, duplicate: true });
          continue;
        }
        if (tx.openBytes + added + e.sizeBytes > call.maxBytes) {
          throw new MqgateError('MQGATE_ERR_OUTBOX_FULL', 'outbox budget spent', {
            context: { id, topic },
            retryAfterSec: FULL_RETRY_AFTER_SEC,
          });
        }
        const seq = tx.nextSeq(keyRef(topic, e.key));
        const name = `${topic}\u0000${e.key}`;
        const isHead = e.key === null || !open.has(name);
        if (e.key !== null && isHead) {
          open.add(name);
          mark.open.push(name);
        }
        seen.set(id, { topic, seq });
        mark.seen.push(id);
        rows.push(rowValues(e, seq, isHead, tx.now));
        added += e.sizeBytes;
        results.push({ id, seq, duplicate: false });
      }
      outcomes.push({ ok: true, value: results });
    } catch (error) {
      if (!(error instanceof MqgateError)) throw error;
      // Nothing of this call is written yet: forget what it took.
      tx.restore(point);
      rows.length = mark.rows;
      added = mark.added;
      for (const id of mark.seen) seen.delete(id);
      for (const name of mark.open) open.delete(name);
      outcomes.push({ ok: false, error });
    }
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await insertRows(tx, rows.slice(i, i + INSERT_CHUNK));
  tx.addBytes(added);
  return outcomes;
}

function rowValues(e: EncodedMessage, seq: number, isHead: boolean, now: number): unknown[] {
  const m = e.message;
  return [
    m.id,
    m.topic,
    e.key,
    seq,
    m.type,
    m.source,
    m.subject ?? null,
    m.time,
    m.datacontenttype,
    e.headers,
    e.data,
    m.traceparent ?? null,
    'accepted',
    isHead ? 1 : 0,
    0,
    now,
    now,
    e.sizeBytes,
  ];
}

async function insertRows(tx: PgTx, rows: readonly unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const width = rows[0]!.length;
  const tuples = rows.map(
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
  );
  await tx.client.query(
    `INSERT INTO mqgate_messages (${INSERT_COLUMNS}) VALUES ${tuples.join(', ')}`,
    rows.flat(),
  );
}

/** Makes the lowest open seq of each key its head, after the previous head was delivered or dead. */
async function promoteHeads(tx: PgTx, keys: readonly { topic: string; key: string }[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.client.query(
    `UPDATE mqgate_messages SET is_head = 1
     WHERE is_head = 0 AND id IN (
       SELECT (SELECT m.id FROM mqgate_messages AS m
               WHERE m.topic = k.topic AND m.key = k.key AND m.${OPEN} ORDER BY m.seq LIMIT 1)
       FROM unnest($1::text[], $2::text[]) AS k(topic, key))`,
    [keys.map((k) => k.topic), keys.map((k) => k.key)],
  );
}

interface Closed {
  was: string;
  topic: string;
  key: string | null;
  size_bytes: number;
}

/** Frees the budget of messages that left the open states and lets the next seq of their keys go. */
async function closeOpen(tx: PgTx, rows: readonly Closed[]): Promise<void> {
  const keys = new Map<string, { topic: string; key: string }>();
  for (const row of rows) {
    if (row.was !== 'accepted' && row.was !== 'delivering') continue;
    tx.addBytes(-row.size_bytes);
    if (row.key !== null) keys.set(`${row.topic}\u0000${row.key}`, { topic: row.topic, key: row.key });
  }
  await promoteHeads(tx, [...keys.values()]);
}

interface DeliveredArgs {
  readonly id: string;
  readonly backend: string;
  readonly receipt: DeliveryReceipt;
}

type DeliveredOp = PgWriteOp<void> & { readonly args: DeliveredArgs };

/** All the acks of a group in two statements: one UPDATE, one promotion of the next heads. */
const DELIVERED_BATCH: PgBatchRunner = {
  run: async (tx, ops) => {
    await markDelivered(
      tx,
      (ops as readonly DeliveredOp[]).map((op) => op.args),
    );
    return ops.map(() => ({ ok: true, value: undefined }));
  },
};

/** Records the broker's ack; wins over any state but `delivered` (the first receipt is kept). */
export function deliveredOp(id: string, backend: string, receipt: DeliveryReceipt): DeliveredOp {
  const args = { id, backend, receipt };
  return { args, ids: [id], relaxed: true, batch: DELIVERED_BATCH, run: (tx) => markDelivered(tx, [args]) };
}

async function markDelivered(tx: PgTx, acks: readonly DeliveredArgs[]): Promise<void> {
  // One ack per id: the first receipt wins, as it would one after the other.
  const first = new Map<string, DeliveredArgs>();
  for (const a of acks) if (!first.has(a.id)) first.set(a.id, a);
  const list = [...first.values()];
  const done = await tx.client.query<Closed>(
    `UPDATE mqgate_messages AS m SET state = 'delivered', delivered_at = $1, backend = u.backend,
       "partition" = u.p, "offset" = u.o, lease_owner = NULL, lease_until = NULL, is_head = 0
     FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS u(id, backend, p, o),
       (SELECT id, state FROM mqgate_messages WHERE id = ANY($2::text[]) FOR UPDATE) AS old
     WHERE m.id = u.id AND old.id = u.id AND old.state <> 'delivered'
     RETURNING old.state AS was, m.topic, m.key, m.size_bytes`,
    [
      tx.now,
      list.map((a) => a.id),
      list.map((a) => a.backend),
      list.map((a) => a.receipt.partition ?? null),
      list.map((a) => a.receipt.offset ?? null),
    ],
  );
  await closeOpen(tx, done.rows);
}

/** Dead-letters an open message; given an owner, only while the message is accepted or under its lease. */
export function deadOp(
  id: string,
  error: { code: string; message: string },
  owner?: string,
): PgWriteOp<void> {
  return {
    relaxed: true,
    ids: [id],
    run: async (tx) => {
      const done = await tx.client.query<Closed>(
        `UPDATE mqgate_messages AS m SET state = 'dead', lease_owner = NULL, lease_until = NULL, is_head = 0,
           error_code = $2, error_message = $3
         FROM (SELECT id, state, lease_owner FROM mqgate_messages WHERE id = $1 FOR UPDATE) AS old
         WHERE m.id = old.id AND (old.state = 'accepted'
           OR (old.state = 'delivering' AND ($4::text IS NULL OR old.lease_owner = $4::text)))
         RETURNING old.state AS was, m.topic, m.key, m.size_bytes`,
        [id, error.code, error.message, owner ?? null],
      );
      await closeOpen(tx, done.rows);
    },
  };
}

/** Releases a claim after a retriable failure; ignored unless delivering (under `owner`'s lease, if given). */
export function retryOp(
  id: string,
  error: { code: string; message: string },
  retryAt: number,
  owner?: string,
): PgWriteOp<void> {
  return {
    relaxed: true,
    run: async (tx) => {
      await tx.client.query(
        `UPDATE mqgate_messages SET state = 'accepted', next_attempt_at = $2, lease_owner = NULL,
           lease_until = NULL, error_code = $3, error_message = $4
         WHERE id = $1 AND state = 'delivering' AND ($5::text IS NULL OR lease_owner = $5::text)`,
        [id, retryAt, error.code, error.message, owner ?? null],
      );
    },
  };
}

/** Gives a claim back untried, returning its attempt; same conditions as {@link retryOp}. */
export function releaseOp(id: string, retryAt: number, owner?: string): PgWriteOp<void> {
  return {
    relaxed: true,
    run: async (tx) => {
      await tx.client.query(
        `UPDATE mqgate_messages SET state = 'accepted', next_attempt_at = $2, lease_owner = NULL,
           lease_until = NULL, attempts = greatest(attempts - 1, 0)
         WHERE id = $1 AND state = 'delivering' AND ($3::text IS NULL OR lease_owner = $3::text)`,
        [id, retryAt, owner ?? null],
      );
    },
  };
}

/** Records one backend's ack of a message on a mirror route. */
export function mirroredOp(id: string, backend: string, receipt: DeliveryReceipt): PgWriteOp<void> {
  return {
    relaxed: true,
    run: async (tx) => {
      await tx.client.query(
        `UPDATE mqgate_messages
         SET mirror = (coalesce(mirror::jsonb, '{}'::jsonb) || jsonb_build_object($2::text, $3::jsonb))::text
         WHERE id = $1 AND state = 'delivering'`,
        [id, backend, JSON.stringify({ ...receipt, at: tx.now })],
      );
    },
  };
}

async function deadRow(tx: PgTx, id: string): Promise<MessageRow> {
  const found = await tx.client.query<MessageRow>('SELECT * FROM mqgate_messages WHERE id = $1 FOR UPDATE', [
    id,
  ]);
  const row = found.rows[0];
  if (row?.state !== 'dead') {
    throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
  }
  return row;
}

/** The id of a key's lowest open seq, if any. */
async function keyHead(tx: PgTx, topic: string, key: string): Promise<string | undefined> {
  const head = await tx.client.query<{ id: string }>(
    `SELECT id FROM mqgate_messages WHERE topic = $1 AND key = $2 AND ${OPEN} ORDER BY seq LIMIT 1`,
    [topic, key],
  );
  return head.rows[0]?.id;
}

/** Puts a dead message back as accepted under the same id and seq; a lower seq goes before its key's head. */
export function requeueOp(id: string): PgWriteOp<void> {
  return {
    ids: [id],
    run: async (tx) => {
      const row = await deadRow(tx, id);
      const before = row.key === null ? undefined : await keyHead(tx, row.topic, row.key);
      await tx.client.query(
        `UPDATE mqgate_messages SET state = 'accepted', attempts = 0, next_attempt_at = $2, lease_owner = NULL,
           lease_until = NULL, is_head = 1 WHERE id = $1`,
        [id, tx.now],
      );
      if (row.key !== null) {
        const after = (await keyHead(tx, row.topic, row.key))!;
        await tx.client.query(
          'UPDATE mqgate_messages SET is_head = (id = $1)::int WHERE id = ANY($2::text[])',
          [after, [after, before ?? after, id]],
        );
      }
      tx.addBytes(Number(row.size_bytes));
    },
  };
}

/** Re-accepts a dead message on `topic` as a new message; see `OutboxAdmin.replayDeadTo`. */
export function replayOp(id: string, topic: string): PgWriteOp<AppendResult> {
  return {
    ids: [id],
    keys: (known: ReadonlyMap<string, KnownMessage>) => {
      const m = known.get(id);
      return m === undefined ? [] : [keyRef(topic, m.key)];
    },
    run: async (tx) => {
      const row = await deadRow(tx, id);
      const newId = replayId(id, topic);
      const taken = await tx.client.query('SELECT 1 FROM mqgate_messages WHERE id = $1', [newId]);
      if (taken.rows.length > 0) {
        throw new MqgateError('MQGATE_ERR_ID_CONFLICT', `id '${newId}' is taken (replayed before?)`, {
          context: { id: newId, topic },
        });
      }
      const { seq: _seq, attempt: _attempt, ...envelope } = rowToEnvelope(row);
      const message = {
        ...envelope,
        id: newId,
        topic,
        headers: { ...envelope.headers, 'replayed-from': id },
      };
      const [outcome] = await appendCalls(tx, [
        { encoded: [encodeMessage(message)], maxBytes: Number.POSITIVE_INFINITY },
      ]);
      if (!outcome!.ok) throw outcome!.error;
      await tx.client.query("DELETE FROM mqgate_messages WHERE id = $1 AND state = 'dead'", [id]);
      return (outcome!.value as AppendResult[])[0]!;
    },
  };
}

/** Deletes a dead message for good; NOT_FOUND unless it is dead. */
export function deleteDeadOp(id: string): PgWriteOp<void> {
  return {
    run: async (tx) => {
      const gone = await tx.client.query("DELETE FROM mqgate_messages WHERE id = $1 AND state = 'dead'", [
        id,
      ]);
      if (gone.rowCount === 0) {
        throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
      }
    },
  };
}
