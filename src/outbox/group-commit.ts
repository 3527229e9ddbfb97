import type Database from 'better-sqlite3';
import { MqgateError, toMqgateError } from '../errors.js';

/** What an operation sees of the transaction it runs in. */
export interface WriteContext {
  /**
   * Registers an undo of in-memory state the operation changed (a budget counter), run if the operation's
   * writes do not reach the disk: its own failure, or a failed commit of the whole group.
   */
  onRollback(undo: () => void): void;
}

/** A synchronous unit of writes; it throws to undo its own writes only. */
export type WriteOperation<T> = (ctx: WriteContext) => T;

/** Published after each group commit. */
export interface CommitInfo {
  /** Operations in the transaction, failed ones included. */
  readonly operations: number;
  /** Operations that threw and were rolled back to their savepoint. */
  readonly failed: number;
  /** Time from BEGIN to the end of COMMIT (which includes the fsync). */
  readonly durationMs: number;
}

interface Pending {
  readonly op: WriteOperation<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit over one SQLite connection. Operations submitted in the same event-loop turn(s) run in one
 * transaction, each inside its own savepoint so that one failing operation rolls back only its own writes,
 * and the whole group pays for one COMMIT (one fsync with `synchronous = FULL`). Every promise settles only
 * after that COMMIT returned, so a resolved promise means the writes are on disk.
 *
 * The flush runs synchronously on the calling thread: while the fsync blocks, new requests wait in the
 * event loop and form the next group, which is what makes the batching grow with load.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly onCommit: (info: CommitInfo) => void = () => {},
  ) {
    // IMMEDIATE takes the write lock up front: a second process on the same file waits (busy_timeout)
    // at BEGIN rather than failing at the first write with SQLITE_BUSY and no retry.
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT op');
    this.release = db.prepare('RELEASE op');
    this.rollbackTo = db.prepare('ROLLBACK TO op');
  }

  /** Operations waiting for the next group. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `op` for the next group; resolves with its result once the group is committed. */
  submit<T>(op: WriteOperation<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not a microtask: it lets the I/O callbacks of this loop turn (other HTTP requests)
        // join the group before it commits.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now, synchronously. Safe to call with an empty queue. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const started = performance.now();
    const outcomes: Outcome[] = [];
    const undos: Array<() => void> = [];
    try {
      this.begin.run();
    } catch (err) {
      this.failAll(batch, err);
      return;
    }
    let failed = 0;
    for (const item of batch) {
      const own: Array<() => void> = [];
      this.savepoint.run();
      try {
        const value = item.op({ onRollback: (undo) => own.push(undo) });
        this.release.run();
        undos.push(...own);
        outcomes.push({ ok: true, value });
      } catch (error) {
        runAll(own);
        failed++;
        if (!this.db.inTransaction) {
          // SQLite rolled the whole transaction back itself (I/O error, disk full): nothing of the group
          // is stored, so nobody may be told otherwise.
          runAll(undos);
          this.failAll(batch, error);
          return;
        }
        this.rollbackTo.run();
        this.release.run();
        outcomes.push({ ok: false, error });
      }
    }
    try {
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      runAll(undos);
      this.failAll(batch, err);
      return;
    }
    this.onCommit({ operations: batch.length, failed, durationMs: performance.now() - started });
    for (let i = 0; i < batch.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) batch[i]!.resolve(outcome.value);
      else batch[i]!.reject(toStoreError(outcome.error));
    }
  }

  private failAll(batch: readonly Pending[], cause: unknown): void {
    const error = new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox commit failed', { cause });
    for (const item of batch) item.reject(error);
  }
}

function runAll(undos: Array<() => void>): void {
  for (let i = undos.length - 1; i >= 0; i--) undos[i]!();
}

/** An operation's own MqgateError goes through; a driver error means the store could not do the write. */
function toStoreError(err: unknown): MqgateError {
  return toMqgateError(err, 'MQGATE_ERR_OUTBOX_UNAVAILABLE');
}
