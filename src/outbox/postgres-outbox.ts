import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Envelope } from '../envelope.js';
import { MqgateError } from '../errors.js';
import type { DeliveryReceipt } from '../ports/backend.js';
import type {
  AppendResult,
  ClaimRequest,
  MessageStatus,
  NewMessage,
  Outbox,
  OutboxStats,
} from '../ports/outbox.js';
import type { DeadPageRequest, OutboxAdmin, TopicOutboxStats } from '../ports/outbox-admin.js';
import type { CommitInfo } from './group-commit.js';
import {
  appendOp,
  deadOp,
  deleteDeadOp,
  deliveredOp,
  mirroredOp,
  releaseOp,
  replayOp,
  requeueOp,
  retryOp,
} from './postgres-ops.js';
import { checkPostgresDurability, migratePostgres } from './postgres-schema.js';
import { PgGroupWriter, type PgWriteOp } from './postgres-writer.js';
import { encodeMessage, type MessageRow, rowToEnvelope, rowToStatus } from './row-codec.js';

export interface PostgresOutboxOptions {
  /** postgres:// URL of the database shared by the replicas. */
  readonly url: string;
  /** Budget: bytes (data + headers) of open messages, shared by every replica. */
  readonly maxBytes: number;
  /** How long delivered messages (and so their ids, for idempotency) are kept. */
  readonly retentionMs: number;
  /** Clock in epoch ms; leases compare it across replicas, so their clocks must agree to well under a lease. */
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Group transactions in flight at once. Default 4. */
  readonly writers?: number;
  /** Connections for claims and reads, besides the writers'. Default 4. */
  readonly readers?: number;
}

/** Rows deleted per statement by prune(). */
const PRUNE_CHUNK = 5_000;
const OPEN = "state IN ('accepted', 'delivering')";

type State = 'new' | 'open' | 'closed';

/**
 * The {@link Outbox} contract on a PostgreSQL database that several gateway replicas share.
 *
 * - Writes go through group commit ({@link PgGroupWriter}); each session runs with `synchronous_commit = on`,
 *   and start() refuses a server with `fsync` off, so a resolved append is on disk.
 * - A key's rows change only under its `mqgate_key_seq` row lock, so per-key seq and the head of each key stay
 *   right while replicas append and deliver at once.
 * - claim() leases heads with `FOR UPDATE SKIP LOCKED`: replicas never wait on each other's claims, and a dead
 *   replica's claims are taken over when their lease expires.
 * - Emits `commit` after each group, like the SQLite outbox (for the group commit metrics).
 * - The budget is the sum of `mqgate_budget`; each group checks it as the group starts, so replicas appending
 *   at the same moment may overshoot `maxBytes` by at most one group each.
 */
export class PostgresOutbox extends EventEmitter<{ commit: [CommitInfo] }> implements Outbox, OutboxAdmin {
  private state: State = 'new';
  private pool: pg.Pool | undefined;
  private writer: PgGroupWriter | undefined;
  private startPromise: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: PostgresOutboxOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  /** Connects, checks durability and creates or migrates the schema. Idempotent. */
  start(): Promise<void> {
    this.startPromise ??= this.open();
    return this.startPromise;
  }

  private async open(): Promise<void> {
    const writers = this.options.writers ?? 4;
    const pool = new pg.Pool({
      connectionString: this.options.url,
      max: writers + (this.options.readers ?? 4),
      // Every session commits durably, whatever the server's default.
      options: '-c synchronous_commit=on',
      application_name: 'mqgate',
      connectionTimeoutMillis: 10_000,
      types: { getTypeParser: typeParser },
    });
    // An idle connection the server dropped: the pool replaces it; log, never crash.
    pool.on('error', (err) => this.options.logger?.warn({ err }, 'outbox connection lost'));
    try {
      const client = await pool.connect();
      let failed: Error | undefined;
      const onError = (err: Error) => {
        failed = err;
      };
      client.on('error', onError);
      try {
        await checkPostgresDurability(client);
        await migratePostgres(client);
      } finally {
        client.removeListener('error', onError);
        client.release(failed);
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err instanceof MqgateError
        ? err
        : new MqgateError(
            'MQGATE_ERR_OUTBOX_UNAVAILABLE',
            `cannot open the postgres outbox: ${(err as Error).message || String(err)}`,
            { cause: err },
          );
    }
    if (this.state === 'closed') {
      await pool.end();
      throw draining();
    }
    this.pool = pool;
    // `commit` as the SQLite outbox emits it (group size and duration, for the metrics); the WAL flush is
    // inside COMMIT here, so there is no separate sync time.
    this.writer = new PgGroupWriter(pool, writers, this.now, (info) =>
      this.emit('commit', { ...info, syncMs: 0 }),
    );
    this.state = 'open';
    this.options.logger?.info({ writers }, 'outbox open (postgres)');
  }

  /** Lets the running groups finish (within `timeoutMs`), then closes the connections. Idempotent. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (!wasOpen) {
      await this.startPromise?.catch(() => {});
      return;
    }
    const deadline = new Promise((r) => setTimeout(r, options.timeoutMs ?? 5_000).unref());
    await Promise.race([this.writer!.idle(), deadline]);
    await this.pool!.end().catch(() => {});
    this.options.logger?.info('outbox closed (postgres)');
  }

  append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    let encoded: ReturnType<typeof encodeMessage>[];
    try {
      encoded = messages.map(encodeMessage);
    } catch (err) {
      return Promise.reject(err);
    }
    if (encoded.length === 0) return Promise.resolve([]);
    return this.write(appendOp(encoded, this.options.maxBytes));
  }

  /**
   * Leases due heads to `owner`: first those whose lease expired (their relay died), then accepted ones by due
   * time. Rows another replica is claiming at the same moment are skipped, not waited for. A keyed head is
   * skipped while another message of its key is under a live lease (a requeued lower seq).
   */
  async claim(request: ClaimRequest): Promise<Envelope[]> {
    if (request.limit <= 0) return [];
    const pool = this.open_();
    const now = this.now();
    const until = now + request.leaseMs;
    const claimed: MessageRow[] = [];
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox claim failed', { cause: err });
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      // A lost claim only makes its messages claimable again: no need to wait for the WAL flush.
      await client.query('BEGIN');
      await client.query('SET LOCAL synchronous_commit = off');
      // Two statements, so that each walks its own partial index (mqgate_messages_expired, then _due).
      for (const [state, column] of [
        ['delivering', 'lease_until'],
        ['accepted', 'next_attempt_at'],
      ] as const) {
        const limit = request.limit - claimed.length;
        if (limit <= 0) break;
        const { rows } = await client.query<MessageRow>(
          `UPDATE mqgate_messages AS m SET state = 'delivering', lease_owner = $3, lease_until = $4,
             attempts = m.attempts + 1
           FROM (SELECT id FROM mqgate_messages AS c
                 WHERE c.state = '${state}' AND c.is_head = 1 AND c.${column} <= $1
                   AND (c.key IS NULL OR NOT EXISTS (
                     SELECT 1 FROM mqgate_messages AS o WHERE o.topic = c.topic AND o.key = c.key
                       AND o.state = 'delivering' AND o.lease_until > $1 AND o.id <> c.id))
                 ORDER BY c.${column} LIMIT $2 FOR UPDATE SKIP LOCKED) AS due
           WHERE m.id = due.id
           RETURNING m.*`,
          [now, limit, request.owner, until],
        );
        claimed.push(...rows);
      }
      await client.query('COMMIT');
    } catch (err) {
      if (!broken) await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      throw new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox claim failed', { cause: err });
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
    return claimed.map(rowToEnvelope);
  }

  markDelivered(id: string, backend: string, receipt: DeliveryReceipt): Promise<void> {
    return this.write(deliveredOp(id, backend, receipt));
  }

  markMirrored(id: string, backend: string, receipt: DeliveryReceipt): Promise<void> {
    return this.write(mirroredOp(id, backend, receipt));
  }

  markRetry(
    id: string,
    error: { code: string; message: string },
    retryAt: number,
    owner?: string,
  ): Promise<void> {
    return this.write(retryOp(id, error, retryAt, owner));
  }

  release(id: string, retryAt: number, owner?: string): Promise<void> {
    return this.write(releaseOp(id, retryAt, owner));
  }

  markDead(id: string, error: { code: string; message: string }, owner?: string): Promise<void> {
    return this.write(deadOp(id, error, owner));
  }

  async get(id: string): Promise<MessageStatus | undefined> {
    const rows = await query<MessageRow>(this.open_(), 'SELECT * FROM mqgate_messages WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : rowToStatus(rows[0]);
  }

  async stats(): Promise<OutboxStats> {
    const pool = this.open_();
    const [open, budget, dead] = await Promise.all([
      query<{ depth: number; oldest: number | null }>(
        pool,
        `SELECT count(*)::int AS depth, min(accepted_at) AS oldest FROM mqgate_messages WHERE ${OPEN}`,
      ),
      query<{ bytes: number }>(pool, 'SELECT coalesce(sum(bytes), 0)::bigint AS bytes FROM mqgate_budget'),
      query<{ dead: number }>(pool, "SELECT count(*)::int AS dead FROM mqgate_messages WHERE state = 'dead'"),
    ]);
    const oldest = open[0]?.oldest ?? null;
    return {
      depth: open[0]?.depth ?? 0,
      bytes: budget[0]?.bytes ?? 0,
      oldestAgeMs: oldest === null ? 0 : Math.max(0, this.now() - oldest),
      dead: dead[0]?.dead ?? 0,
    };
  }

  /** Deletes delivered messages older than the retention; dead ones stay (they are the dead-letter store). */
  async prune(): Promise<number> {
    const pool = this.open_();
    let total = 0;
    for (;;) {
      const rows = await query<{ id: string }>(
        pool,
        `DELETE FROM mqgate_messages WHERE id IN (SELECT id FROM mqgate_messages
           WHERE state = 'delivered' AND delivered_at < $1 LIMIT $2) RETURNING id`,
        [this.now() - this.options.retentionMs, PRUNE_CHUNK],
      );
      total += rows.length;
      if (rows.length < PRUNE_CHUNK) return total;
    }
  }

  async listDead(request: DeadPageRequest): Promise<MessageStatus[]> {
    const rows = await query<MessageRow>(
      this.open_(),
      `SELECT * FROM mqgate_messages WHERE state = 'dead' AND id > $1 AND ($2::text IS NULL OR topic = $2::text)
       ORDER BY id LIMIT $3`,
      [request.after ?? '', request.topic ?? null, Math.max(0, request.limit)],
    );
    return rows.map(rowToStatus);
  }

  requeueDead(id: string): Promise<void> {
    return this.write(requeueOp(id));
  }

  replayDeadTo(id: string, topic: string): Promise<AppendResult> {
    return this.write(replayOp(id, topic));
  }

  deleteDead(id: string): Promise<void> {
    return this.write(deleteDeadOp(id));
  }

  async topicStats(): Promise<TopicOutboxStats[]> {
    const rows = await query<{
      topic: string;
      depth: number;
      bytes: number;
      oldest: number | null;
      dead: number;
    }>(
      this.open_(),
      `SELECT topic,
         count(*) FILTER (WHERE ${OPEN})::int AS depth,
         coalesce(sum(size_bytes) FILTER (WHERE ${OPEN}), 0)::bigint AS bytes,
         min(accepted_at) FILTER (WHERE ${OPEN}) AS oldest,
         count(*) FILTER (WHERE state = 'dead')::int AS dead
       FROM mqgate_messages WHERE state <> 'delivered' GROUP BY topic ORDER BY topic`,
    );
    const now = this.now();
    return rows.map((r) => ({
      topic: r.topic,
      depth: r.depth,
      bytes: r.bytes,
      oldestAgeMs: r.oldest === null ? 0 : Math.max(0, now - r.oldest),
      dead: r.dead,
    }));
  }

  private write<T>(op: PgWriteOp<T>): Promise<T> {
    if (this.state !== 'open') return Promise.reject(this.state === 'closed' ? draining() : notStarted());
    return this.writer!.submit(op);
  }

  private open_(): pg.Pool {
    if (this.state !== 'open') throw this.state === 'closed' ? draining() : notStarted();
    return this.pool!;
  }
}

/** bigint columns (epoch ms, seq, byte counts) fit a double: parse them as numbers. */
function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === pg.types.builtins.INT8) return Number;
  return pg.types.getTypeParser(oid, format);
}

/** Runs one statement; a driver failure becomes MQGATE_ERR_OUTBOX_UNAVAILABLE. */
async function query<R extends object>(pool: pg.Pool, text: string, values?: unknown[]): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (err) {
    throw new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox query failed', { cause: err });
  }
}

function draining(): MqgateError {
  return new MqgateError('MQGATE_ERR_DRAINING', 'outbox is closed');
}

function notStarted(): MqgateError {
  return new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox not started');
}
