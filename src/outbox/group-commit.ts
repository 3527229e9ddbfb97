import type Database from 'better-sqlite3';
import { MqgateError, toMqgateError } from '../errors.js';

/** What an operation sees of the transaction it runs in. */
export interface WriteContext {
  /**
   * Registers an undo of in-memory state the operation changed (a budget counter), run if the operation's
   * writes do not reach the database: its own failure, or a failed commit of the whole group.
   */
  onRollback(undo: () => void): void;
}

/** A synchronous unit of writes; it throws to undo its own writes only. */
export type WriteOperation<T> = (ctx: WriteContext) => T;

/** Makes every commit that returned before the call durable; resolves once it is (fdatasync of the WAL). */
export type SyncFn = () => Promise<void>;

/** Published once per group, after its fsync (or at its commit when none of its operations needed one). */
export interface CommitInfo {
  /** Operations in the transaction, failed ones included. */
  readonly operations: number;
  /** Operations that threw and were rolled back to their savepoint. */
  readonly failed: number;
  /** Time from BEGIN to the end of COMMIT, on the event loop (no fsync in it). */
  readonly durationMs: number;
  /** Time of the fdatasync that made the group durable, off the event loop; 0 when the group needed none. */
  readonly syncMs: number;
}

interface Pending {
  readonly op: WriteOperation<unknown>;
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A committed operation whose promise waits for the group's fsync. */
interface Committed {
  readonly item: Pending;
  readonly outcome: Outcome;
}

/**
 * Group commit over one SQLite connection in WAL mode with `synchronous = NORMAL`, where COMMIT writes the
 * WAL with write(2) and does not fsync. Operations queued together run in one transaction, each inside its
 * own savepoint so that one failing operation rolls back only its own writes; then `sync` (an fdatasync of
 * the WAL on libuv's thread pool) makes the group durable while the event loop parses the next requests.
 *
 * - A durable operation's promise settles only after an fdatasync that started after its group's COMMIT
 *   returned: a resolved promise means its writes are on disk.
 * - A non-durable operation (`durable: false`) settles at COMMIT: its writes are visible to every later
 *   operation and survive a crash of the process, but a power loss before the next fsync may undo them. Any
 *   later durable operation's fsync covers them too (WAL order).
 * - One group at a time: the next group commits when the previous group's fsync returned, so everything that
 *   arrived during an fsync shares the next transaction and fsync, and batching grows with the disk's latency.
 * - If an fsync fails, what the disk holds is unknown (Linux may have dropped the dirty pages): the waiting
 *   operations reject and so does every later one, with MQGATE_ERR_OUTBOX_UNAVAILABLE, until the process is
 *   restarted and SQLite recovers the WAL from what is on disk.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private syncing: Promise<void> | undefined;
  private broken: MqgateError | undefined;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly sync: SyncFn,
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

  /**
   * Queues `op` for the next group. Resolves with its result once the group is committed and, unless
   * `durable` is false, fsync'd.
   */
  submit<T>(op: WriteOperation<T>, durable = true): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, durable, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once every queued operation is committed and every started fsync returned. Never rejects. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.syncing) await this.syncing;
      else if (this.queue.length > 0) this.run();
      else return;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    // setImmediate, not a microtask: it lets the I/O callbacks of this loop turn (other HTTP requests)
    // join the group before it commits.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.syncing) this.run();
    });
  }

  /** Commits the queued group, settles its non-durable operations and starts the fsync for the others. */
  private run(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const started = performance.now();
    const committed = this.commitGroup(batch);
    if (committed === undefined) return;
    const durationMs = performance.now() - started;
    const failed = committed.filter((c) => !c.outcome.ok).length;
    const waiting: Committed[] = [];
    for (const c of committed) {
      if (c.item.durable && c.outcome.ok) waiting.push(c);
      else settle(c);
    }
    if (waiting.length === 0) {
      this.onCommit({ operations: batch.length, failed, durationMs, syncMs: 0 });
      return;
    }
    const syncStarted = performance.now();
    this.syncing = this.sync().then(
      () => {
        this.syncing = undefined;
        const syncMs = performance.now() - syncStarted;
        for (const c of waiting) settle(c);
        if (this.queue.length > 0) this.schedule();
        this.onCommit({ operations: batch.length, failed, durationMs, syncMs });
      },
      (cause: unknown) => {
        this.syncing = undefined;
        this.broken = new MqgateError(
          'MQGATE_ERR_OUTBOX_UNAVAILABLE',
          'outbox fsync failed: what the disk holds is unknown until the gateway restarts',
          { cause },
        );
        for (const c of waiting) c.item.reject(this.broken);
        this.failAll(this.queue.splice(0), this.broken);
      },
    );
  }

  /**
   * Runs `batch` in one transaction; returns each operation's outcome once COMMIT returned, or undefined
   * after rejecting every operation when the transaction as a whole failed.
   */
  private commitGroup(batch: readonly Pending[]): Committed[] | undefined {
    const committed: Committed[] = [];
    const undos: Array<() => void> = [];
    try {
      this.begin.run();
    } catch (err) {
      this.failAll(batch, commitFailed(err));
      return undefined;
    }
    for (const item of batch) {
      const own: Array<() => void> = [];
      this.savepoint.run();
      try {
        const value = item.op({ onRollback: (undo) => own.push(undo) });
        this.release.run();
        undos.push(...own);
        committed.push({ item, outcome: { ok: true, value } });
      } catch (error) {
        runAll(own);
        if (!this.db.inTransaction) {
          // SQLite rolled the whole transaction back itself (I/O error, disk full): nothing of the group
          // is stored, so nobody may be told otherwise.
          runAll(undos);
          this.failAll(batch, commitFailed(error));
          return undefined;
        }
        this.rollbackTo.run();
        this.release.run();
        committed.push({ item, outcome: { ok: false, error } });
      }
    }
    try {
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      runAll(undos);
      this.failAll(batch, commitFailed(err));
      return undefined;
    }
    return committed;
  }

  private failAll(batch: readonly Pending[], error: MqgateError): void {
    for (const item of batch) item.reject(error);
  }
}

function settle({ item, outcome }: Committed): void {
  if (outcome.ok) item.resolve(outcome.value);
  else item.reject(toStoreError(outcome.error));
}

function commitFailed(cause: unknown): MqgateError {
  return new MqgateError('MQGATE_ERR_OUTBOX_UNAVAILABLE', 'outbox commit failed', { cause });
}

function runAll(undos: Array<() => void>): void {
  for (let i = undos.length - 1; i >= 0; i--) undos[i]!();
}

/** An operation's own MqgateError goes through; a driver error means the store could not do the write. */
function toStoreError(err: unknown): MqgateError {
  return toMqgateError(err, 'MQGATE_ERR_OUTBOX_UNAVAILABLE');
}
