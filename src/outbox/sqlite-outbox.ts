import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import type { OutboxAdmin, TopicOutboxStats } from '../ports/outbox-admin.js';
import { type CommitInfo, GroupCommitter, type WriteContext } from './group-commit.js';
import { encodeMessage, type MessageRow, rowToStatus } from './row-codec.js';
import {
  type AdminStatements,
  deleteDeadRow,
  prepareAdminStatements,
  replayRowTo,
  topicStats,
} from './sqlite-admin.js';
import { appendRows } from './sqlite-append.js';
import { claimDue, promoteHead, requeueRow } from './sqlite-claim.js';
import { applyPragmas, checkPragmas, migrate, readPragmas } from './sqlite-schema.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import { WalFile } from './wal-sync.js';

export interface SqliteOutboxOptions {
  /** Database file; its directory is created if missing. */
  readonly path: string;
  /** Budget: bytes (data + headers) of messages not yet delivered nor dead. */
  readonly maxBytes: number;
  /** How long delivered messages (and so their ids, for idempotency) are kept. */
  readonly retentionMs: number;
  /** Clock in epoch ms; tests inject one. */
  readonly now?: () => number;
  readonly logger?: Logger;
  /** How long to wait for another process's write lock on the same file. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** Events the outbox publishes (for metrics and tests). */
export interface SqliteOutboxEvents {
  /** After each group: one transaction, then one fdatasync of the WAL if any of its writes needed it. */
  commit: [CommitInfo];
}

/** Query for {@link SqliteOutbox.listDead}: one page of the dead-letter store, ordered by id. */
export interface ListDeadRequest {
  readonly topic?: string;
  readonly limit: number;
  /** Id of the last message of the previous page. */
  readonly after?: string;
}

/** Rows deleted per transaction by prune(), so that a large backlog never blocks the event loop for long. */
const PRUNE_CHUNK = 5_000;

type State = 'new' | 'starting' | 'open' | 'closed';

/**
 * The SQLite outbox: the {@link Outbox} contract on one WAL database, group commit of concurrent writes with
 * one fdatasync of the WAL per group off the event loop (`synchronous = NORMAL`, see {@link GroupCommitter}),
 * and a byte budget. One process owns the file; several gateway replicas need the
 * Postgres driver.
 *
 * Beyond the port, it offers the dead-letter store and per-topic stats to admin routes ({@link OutboxAdmin})
 * and emits `commit` after each group commit.
 */
export class SqliteOutbox extends EventEmitter<SqliteOutboxEvents> implements Outbox, OutboxAdmin {
  private state: State = 'new';
  private db: Database.Database | undefined;
  private st: Statements | undefined;
  private adminSt: AdminStatements | undefined;
  private committer: GroupCommitter | undefined;
  private wal: WalFile | undefined;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  /** Bytes of open messages, as committed plus what the running group has added; mirrors the DB. */
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly options: SqliteOutboxOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  /** Opens (creating the file and schema if needed) and checks the durability settings. Idempotent. */
  start(): Promise<void> {
    this.startPromise ??= Promise.resolve().then(() => this.open());
    return this.startPromise;
  }

  private open(): void {
    if (this.state === 'closed') throw draining();
    this.state = 'starting';
    mkdirSync(dirname(this.options.path), { recursive: true });
    const db = new Database(this.options.path);
    try {
      applyPragmas(db, this.options.busyTimeoutMs ?? 5_000);
      migrate(db);
      this.st = prepareStatements(db);
      this.adminSt = prepareAdminStatements(db);
      this.bytes = this.st.openBytes.get()?.bytes ?? 0;
      // Only now, after the WAL has been read, would the build's WAL default have shown (see applyPragmas).
      checkPragmas(db);
      // The connection has read in WAL mode, so SQLite has created the -wal file by now.
      const wal = WalFile.open(this.options.path);
      this.wal = wal;
      this.committer = new GroupCommitter(
        db,
        () => wal.sync(),
        (info) => this.emit('commit', info),
      );
    } catch (err) {
      this.wal?.close();
      this.wal = undefined;
      db.close();
      throw err instanceof MqgateError
        ? err
        : new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', `cannot open outbox ${this.options.path}`, {
            cause: err,
          });
    }
    this.db = db;
    this.state = 'open';
    this.options.logger?.info({ path: this.options.path, bytes: this.bytes }, 'outbox open');
  }

  /**
   * Commits and fsyncs what is already queued, then closes the file. Idempotent. Writes submitted after it
   * reject with MQGATE_ERR_DRAINING. `timeoutMs` is accepted for the lifecycle contract; close waits for the
   * last fdatasync, which the kernel cannot cancel.
   */
  close(_options?: { timeoutMs?: number }): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'starting') await this.startPromise?.catch(() => {});
    this.state = 'closed';
    await this.committer?.drain();
    this.wal?.close();
    this.wal = undefined;
    this.db?.close();
    this.db = undefined;
    this.options.logger?.info({ path: this.options.path }, 'outbox closed');
  }

  append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    let encoded: ReturnType<typeof encodeMessage>[];
    try {
      encoded = messages.map(encodeMessage);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.write((ctx, st) => {
      const { results, addedBytes } = appendRows(st, encoded, {
        now: this.now(),
        freeBytes: this.options.maxBytes - this.bytes,
      });
      this.addBytes(ctx, addedBytes);
      return results;
    });
  }

  claim(request: ClaimRequest): Promise<Envelope[]> {
    if (request.limit <= 0) return Promise.resolve([]);
    return this.write((_ctx, st) => claimDue(st, request, this.now()));
  }

  /**
   * Records the broker's ack. It wins over any other state (the broker has the message, whoever sent it),
   * except that a message already delivered keeps its first receipt.
   */
  markDelivered(id: string, backend: string, receipt: DeliveryReceipt): Promise<void> {
    return this.mark((ctx, st) => {
      const row = st.byId.get(id);
      if (row === undefined || row.state === 'delivered') return;
      st.delivered.run({
        id,
        backend,
        partition: receipt.partition ?? null,
        offset: receipt.offset ?? null,
        now: this.now(),
      });
      this.closeOpen(ctx, st, row);
    });
  }

  /** Records one backend's ack of a message on a mirror route; see the port. */
  markMirrored(id: string, backend: string, receipt: DeliveryReceipt): Promise<void> {
    const at = this.now();
    // Backend names are [A-Za-z0-9_-] (config rule); quoted in the JSON path all the same.
    const path = `$."${backend}"`;
    return this.mark(
      (_ctx, st) => void st.mirrored.run({ id, path, receipt: JSON.stringify({ ...receipt, at }) }),
    );
  }

  /** Releases a claimed message; ignored unless it is `delivering` (a stale owner cannot undo a final state). */
  markRetry(
    id: string,
    error: { code: string; message: string },
    retryAt: number,
    owner?: string,
  ): Promise<void> {
    return this.mark((_ctx, st) => {
      const row = st.byId.get(id);
      if (row?.state !== 'delivering' || !holdsLease(row, owner)) return;
      st.retry.run({ id, code: error.code, message: error.message, at: retryAt });
    });
  }

  /**
   * Gives a claimed message back untried (no backend could take it): due again at `retryAt` (epoch ms), and
   * the attempt the claim counted is returned. Ignored unless the message is `delivering`.
   */
  release(id: string, retryAt: number, owner?: string): Promise<void> {
    return this.mark((_ctx, st) => {
      const row = st.byId.get(id);
      if (row?.state !== 'delivering' || !holdsLease(row, owner)) return;
      st.release.run({ id, at: retryAt });
    });
  }

  /**
   * Moves an open message to the dead-letter store; ignored once delivered or dead, and, given an `owner`, while
   * another owner holds it.
   */
  markDead(id: string, error: { code: string; message: string }, owner?: string): Promise<void> {
    return this.mark((ctx, st) => {
      const row = st.byId.get(id);
      if (row === undefined || (row.state !== 'accepted' && row.state !== 'delivering')) return;
      if (row.state === 'delivering' && !holdsLease(row, owner)) return;
      st.dead.run({ id, code: error.code, message: error.message });
      this.closeOpen(ctx, st, row);
    });
  }

  /** The durability settings of the outbox's own connection, as SQLite reports them (for diagnostics). */
  pragmas(): { journalMode: string; synchronous: number } {
    this.reader();
    return readPragmas(this.db!);
  }

  async get(id: string): Promise<MessageStatus | undefined> {
    const row = this.reader().byId.get(id);
    return row === undefined ? undefined : rowToStatus(row);
  }

  async stats(): Promise<OutboxStats> {
    const st = this.reader();
    const open = st.openStats.get()!;
    return {
      depth: open.depth,
      bytes: this.bytes,
      oldestAgeMs: open.oldest === null ? 0 : Math.max(0, this.now() - open.oldest),
      dead: st.deadCount.get()!.dead,
    };
  }

  /** Deletes delivered messages older than the retention; dead ones stay (they are the dead-letter store). */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.mark(
        (_ctx, st) =>
          st.prune.run({ before: this.now() - this.options.retentionMs, limit: PRUNE_CHUNK }).changes,
      );
      total += deleted;
      if (deleted < PRUNE_CHUNK) return total;
    }
  }

  /** One page of dead messages with their errors, by id; pass the last id as `after` for the next page. */
  async listDead(request: ListDeadRequest): Promise<MessageStatus[]> {
    const rows = this.reader().listDead.all({
      topic: request.topic ?? null,
      after: request.after ?? '',
      limit: Math.max(0, request.limit),
    });
    return rows.map(rowToStatus);
  }

  /**
   * Puts a dead message back in the queue (state `accepted`, attempts 0, due now), keeping its id and seq so
   * that per-key order and consumers' dedup still hold. Its bytes count against the budget again, but an admin
   * replay is never refused for it. Rejects with MQGATE_ERR_NOT_FOUND unless the message is dead.
   */
  requeueDead(id: string): Promise<void> {
    return this.write((ctx, st) => {
      const row = st.byId.get(id);
      if (row?.state !== 'dead') {
        throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
      }
      requeueRow(st, row, this.now());
      this.addBytes(ctx, row.size_bytes);
    });
  }

  /** Re-accepts a dead message on another topic as a new message; see {@link OutboxAdmin.replayDeadTo}. */
  replayDeadTo(id: string, topic: string): Promise<AppendResult> {
    return this.write((ctx, st) => {
      const { result, addedBytes } = replayRowTo(st, this.adminSt!, id, topic, this.now());
      this.addBytes(ctx, addedBytes);
      return result;
    });
  }

  /** Deletes a dead message for good. Rejects with MQGATE_ERR_NOT_FOUND unless the message is dead. */
  deleteDead(id: string): Promise<void> {
    return this.write(() => deleteDeadRow(this.adminSt!, id));
  }

  /** Open messages (depth, bytes, oldest age) and dead ones per topic, by topic name. */
  async topicStats(): Promise<TopicOutboxStats[]> {
    this.reader();
    return topicStats(this.adminSt!, this.now());
  }

  /** Frees the budget of a message that left the open states and lets the next seq of its key go. */
  private closeOpen(ctx: WriteContext, st: Statements, row: MessageRow): void {
    if (row.state !== 'accepted' && row.state !== 'delivering') return;
    this.addBytes(ctx, -row.size_bytes);
    if (row.key !== null) promoteHead(st, row.topic, row.key);
  }

  private addBytes(ctx: WriteContext, delta: number): void {
    if (delta === 0) return;
    this.bytes += delta;
    ctx.onRollback(() => {
      this.bytes -= delta;
    });
  }

  /** A write whose promise resolves once it is on disk (fdatasync of the WAL after its commit). */
  private write<T>(op: (ctx: WriteContext, st: Statements) => T, durable = true): Promise<T> {
    if (this.state !== 'open') return Promise.reject(this.state === 'closed' ? draining() : notStarted());
    const st = this.st!;
    return this.committer!.submit((ctx) => op(ctx, st), durable);
  }

  /**
   * A write whose promise resolves at its commit, before the fsync: the relay's marks and prune. Losing one
   * to a power cut only repeats work (a mark lost: the message is sent again once its lease expires; a prune
   * lost: the rows are pruned next time). The relay never acts on a write of its own that could still be
   * lost, because every claim is a durable write that comes later in the WAL: its fsync covers the marks
   * before it.
   */
  private mark<T>(op: (ctx: WriteContext, st: Statements) => T): Promise<T> {
    return this.write(op, false);
  }

  private reader(): Statements {
    if (this.state !== 'open') throw this.state === 'closed' ? draining() : notStarted();
    return this.st!;
  }
}

/** True when no owner is named, or the named one is the message's current lease holder. */
function holdsLease(row: MessageRow, owner: string | undefined): boolean {
  return owner === undefined || row.lease_owner === owner;
}

function draining(): MqgateError {
  return new MqgateError('MQGATE_ERR_DRAINING', 'outbox is closed');
}

function notStarted(): MqgateError {
  return new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox not started');
}
