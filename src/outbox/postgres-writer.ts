import type { Pool, PoolClient } from 'pg';
import { MqgateError } from '../errors.js';
import { BUDGET_SHARDS } from './postgres-schema.js';

/** A (topic, key) whose `mqgate_key_seq` row a write locks; key '' is the topic's keyless stream. */
export interface KeyRef {
  readonly topic: string;
  readonly key: string;
}

/** Topic and key of a stored message, as read before the group locks keys. */
export interface KnownMessage {
  readonly topic: string;
  readonly key: string | null;
}

/** What a write operation sees of the transaction it runs in. */
export interface PgTx {
  readonly client: PoolClient;
  /** Epoch ms, read once per group. */
  readonly now: number;
  /** Bytes of open messages as the group started, plus what the group has changed so far. */
  readonly openBytes: number;
  /** Hands out the next seq of a key the operation declared (locked for the whole transaction). */
  nextSeq(ref: KeyRef): number;
  /** Changes the open bytes (counted against the budget) by `delta`. */
  addBytes(delta: number): void;
  /** A point to give seqs and bytes back to, for an operation that fails before it writes. */
  checkpoint(): Checkpoint;
  restore(point: Checkpoint): void;
}

export interface Checkpoint {
  readonly undo: number;
  readonly delta: number;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs every operation of one kind in a group together, in a few statements for all of them instead of a
 * few per operation; returns one outcome per operation, in order. Same rule as `PgWriteOp.run`: an operation
 * fails (MqgateError) only before anything of it is written.
 */
export interface PgBatchRunner {
  run(tx: PgTx, ops: readonly PgWriteOp<unknown>[]): Promise<Outcome[]>;
}

/**
 * One unit of writes. It declares what it needs locked up front, so that a group locks every key once, in one
 * sorted order (no deadlock between replicas' groups), and it must throw its own errors (MqgateError) before
 * its first write: a group runs without savepoints, and an operation that fails only gives back its seqs and
 * budget. A driver error fails or retries the whole group.
 */
export interface PgWriteOp<T> {
  /** Messages whose key must be locked (only keyed ones are). */
  readonly ids?: readonly string[];
  /** Keys to lock, given what is known of `ids`. */
  readonly keys?: (known: ReadonlyMap<string, KnownMessage>) => readonly KeyRef[];
  /**
   * True when losing the write in a crash only repeats a delivery (a claim or a mark: the message is sent again,
   * and consumers drop the copy by id). A group of such writes only commits asynchronously
   * (`synchronous_commit = off`: no wait for the WAL flush); PostgreSQL loses at most a suffix of them in a
   * crash, never a write that a later durable commit (an append) depends on, as WAL is replayed in order.
   */
  readonly relaxed?: boolean;
  /** Operations of a group that share a runner run through it together (and not through `run`). */
  readonly batch?: PgBatchRunner;
  run(tx: PgTx): Promise<T>;
}

interface Pending {
  readonly op: PgWriteOp<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Deadlock, serialization failure, unique violation (two replicas inserting one id): retry the group. */
const RETRY_CODES = new Set(['40P01', '40001', '23505']);
const MAX_TRIES = 5;

/**
 * Group commit on PostgreSQL. Operations submitted while a group runs wait and form the next one; up to
 * `writers` groups run at once, each in its own transaction on its own connection, and each pays one COMMIT
 * (one WAL flush, with `synchronous_commit = on`). Promises settle only after that COMMIT returned. A COMMIT
 * whose outcome is unknown (connection lost) rejects with MQGATE_ERR_OUTBOX_UNAVAILABLE: a publisher's retry
 * with the same id is then answered as a duplicate if the first attempt was stored.
 */
export class PgGroupWriter {
  private queue: Pending[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly pool: Pool,
    private readonly writers: number,
    private readonly now: () => number,
    /** Called after each committed group: its size and the time from BEGIN to the end of COMMIT. */
    private readonly onCommit: (info: {
      operations: number;
      failed: number;
      durationMs: number;
    }) => void = () => {},
  ) {}

  submit<T>(op: PgWriteOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op: op as PgWriteOp<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once no group is running or queued. */
  async idle(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.writers || this.queue.length === 0) return;
    this.scheduled = true;
    // setImmediate lets this loop turn's other requests join the group.
    setImmediate(() => {
      this.scheduled = false;
      if (this.running >= this.writers || this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      this.running++;
      void this.runGroup(batch).finally(() => {
        this.running--;
        this.schedule();
      });
    });
  }

  private async runGroup(batch: Pending[]): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      failAll(batch, err);
      return;
    }
    // A connection that failed (no SQLSTATE, or no ROLLBACK possible) is destroyed, not given back.
    let broken: Error | undefined;
    // The pool stops listening to a client it hands out; unheard, its 'error' (server gone) would crash.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const started = performance.now();
          const outcomes = await this.runOnce(client, batch);
          this.onCommit({
            operations: batch.length,
            failed: outcomes.filter((o) => !o.ok).length,
            durationMs: performance.now() - started,
          });
          settle(batch, outcomes);
          return;
        } catch (err) {
          if (pgCode(err) === undefined) broken = asError(err);
          else await client.query('ROLLBACK').catch((e: unknown) => (broken = asError(e)));
          if (!broken && attempt < MAX_TRIES && RETRY_CODES.has(pgCode(err)!)) continue;
          failAll(batch, err);
          return;
        }
      }
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  private async runOnce(client: PoolClient, batch: readonly Pending[]): Promise<Outcome[]> {
    await client.query('BEGIN');
    if (batch.every((p) => p.op.relaxed === true)) await client.query('SET LOCAL synchronous_commit = off');
    const ids = [...new Set(batch.flatMap((p) => p.op.ids ?? []))];
    const known = new Map<string, KnownMessage>();
    if (ids.length > 0) {
      const rows = await client.query<{ id: string; topic: string; key: string | null }>(
        'SELECT id, topic, key FROM mqgate_messages WHERE id = ANY($1::text[])',
        [ids],
      );
      for (const r of rows.rows) known.set(r.id, { topic: r.topic, key: r.key });
    }
    const refs = new Map<string, KeyRef>();
    for (const { op } of batch) {
      for (const id of op.ids ?? []) {
        const m = known.get(id);
        if (m?.key != null) refs.set(refName(m.topic, m.key), { topic: m.topic, key: m.key });
      }
      for (const ref of op.keys?.(known) ?? []) refs.set(refName(ref.topic, ref.key), ref);
    }
    const seqs = await lockKeys(client, [...refs.values()]);
    const lastSeqs = new Map(seqs);
    const budget = await client.query<{ bytes: number }>(
      'SELECT coalesce(sum(bytes), 0)::bigint AS bytes FROM mqgate_budget',
    );
    let openBytes = Number(budget.rows[0]?.bytes ?? 0);
    let delta = 0;
    const undo: Array<[string, number]> = [];
    const tx: PgTx = {
      client,
      now: this.now(),
      get openBytes() {
        return openBytes + delta;
      },
      nextSeq: (ref) => {
        const name = refName(ref.topic, ref.key);
        const last = seqs.get(name);
        if (last === undefined) throw new Error(`key ${name} was not declared by its operation`);
        undo.push([name, last]);
        seqs.set(name, last + 1);
        return last + 1;
      },
      addBytes: (d) => {
        delta += d;
      },
      checkpoint: () => ({ undo: undo.length, delta }),
      restore: (point) => {
        while (undo.length > point.undo) {
          const [name, last] = undo.pop()!;
          seqs.set(name, last);
        }
        delta = point.delta;
      },
    };
    const outcomes = await runOps(
      tx,
      batch.map((p) => p.op),
    );
    const changed = [...seqs].filter(([name, last]) => lastSeqs.get(name) !== last);
    if (changed.length > 0) {
      const parts = changed.map(([name]) => refs.get(name)!);
      await client.query(
        `UPDATE mqgate_key_seq AS k SET last_seq = u.last_seq
         FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(topic, key, last_seq)
         WHERE k.topic = u.topic AND k.key = u.key`,
        [parts.map((r) => r.topic), parts.map((r) => r.key), changed.map(([, last]) => last)],
      );
    }
    if (delta !== 0) {
      await client.query('UPDATE mqgate_budget SET bytes = bytes + $1 WHERE shard = $2', [
        delta,
        Math.floor(Math.random() * BUDGET_SHARDS),
      ]);
    }
    await client.query('COMMIT');
    openBytes += delta;
    return outcomes;
  }
}

/**
 * Runs a group's operations: those sharing a batch runner together through it, the rest one by one. Their
 * order does not matter: they were submitted concurrently, and each statement sees the group's earlier writes.
 */
async function runOps(tx: PgTx, ops: readonly PgWriteOp<unknown>[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(ops.length);
  const batches = new Map<PgBatchRunner, number[]>();
  for (const [i, op] of ops.entries()) {
    if (op.batch === undefined) continue;
    const indexes = batches.get(op.batch) ?? [];
    indexes.push(i);
    batches.set(op.batch, indexes);
  }
  for (const [runner, indexes] of batches) {
    const results = await runner.run(
      tx,
      indexes.map((i) => ops[i]!),
    );
    for (const [j, i] of indexes.entries()) outcomes[i] = results[j]!;
  }
  for (const [i, op] of ops.entries()) {
    if (op.batch !== undefined) continue;
    const point = tx.checkpoint();
    try {
      outcomes[i] = { ok: true, value: await op.run(tx) };
    } catch (error) {
      if (!(error instanceof MqgateError)) throw error;
      tx.restore(point); // it threw before writing: give back what it took
      outcomes[i] = { ok: false, error };
    }
  }
  return outcomes;
}

/**
 * Creates missing key rows and locks every row, in (topic, key) order: two groups that share keys take them in
 * the same order, so they queue instead of deadlocking. Returns each key's last seq.
 */
async function lockKeys(client: PoolClient, refs: readonly KeyRef[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (refs.length === 0) return out;
  const sorted = [...refs].sort((a, b) =>
    a.topic === b.topic ? compare(a.key, b.key) : compare(a.topic, b.topic),
  );
  // The no-op DO UPDATE locks an existing row and returns it, like SELECT ... FOR UPDATE.
  const rows = await client.query<{ topic: string; key: string; last_seq: number }>(
    `INSERT INTO mqgate_key_seq (topic, key, last_seq)
     SELECT u.topic, u.key, 0 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(topic, key, n) ORDER BY u.n
     ON CONFLICT (topic, key) DO UPDATE SET last_seq = mqgate_key_seq.last_seq
     RETURNING topic, key, last_seq`,
    [sorted.map((r) => r.topic), sorted.map((r) => r.key)],
  );
  for (const r of rows.rows) out.set(refName(r.topic, r.key), Number(r.last_seq));
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function refName(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

function settle(batch: readonly Pending[], outcomes: readonly Outcome[]): void {
  for (let i = 0; i < batch.length; i++) {
    const o = outcomes[i]!;
    if (o.ok) batch[i]!.resolve(o.value);
    else batch[i]!.reject(o.error);
  }
}

function failAll(batch: readonly Pending[], cause: unknown): void {
  // The database is down or restarting: worth a retry soon, with the same id.
  const error = new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox commit failed', {
    cause,
    retryAfterSec: 1,
  });
  for (const item of batch) item.reject(error);
}

/** The SQLSTATE of a server error, undefined for a connection error. */
export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
