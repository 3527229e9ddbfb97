import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MqgateError } from '../../src/errors.js';
import { GroupCommitter } from '../../src/outbox/group-commit.js';
import { tempDir } from './fixtures/outbox-helpers.js';

/** A sync the test settles by hand; records how many rows were committed when each one started. */
class ManualSync {
  readonly started: Array<{ rowsAtStart: number; resolve: () => void; reject: (err: Error) => void }> = [];
  constructor(private readonly rows: () => number) {}
  readonly fn = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.started.push({ rowsAtStart: this.rows(), resolve, reject });
    });
}

/** Resolves after the loop ran setImmediate callbacks (the committer's schedule) and promise callbacks. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

function watch<T>(p: Promise<T>): { settled: () => boolean; result: Promise<T> } {
  let done = false;
  const result = p.finally(() => {
    done = true;
  });
  result.catch(() => {});
  return { settled: () => done, result };
}

describe('group commit with the fsync off the event loop', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });

  function setup() {
    const tmp = tempDir();
    const db = new Database(`${tmp.dir}/g.db`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
    const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM t');
    const sync = new ManualSync(() => count.get()!.n);
    const committer = new GroupCommitter(db, sync.fn);
    const insert = db.prepare<[string]>('INSERT INTO t (v) VALUES (?)');
    const add = (v: string, durable = true) => committer.submit(() => insert.run(v).changes, durable);
    cleanup = () => {
      db.close();
      tmp.cleanup();
    };
    return { sync, committer, add, rows: () => count.get()!.n };
  }

  it('resolves a durable write only after an fsync that started after its commit', async () => {
    const { sync, add, rows } = setup();
    const a = watch(add('a'));
    await turn();
    expect(sync.started).toHaveLength(1);
    expect(sync.started[0]!.rowsAtStart).toBe(1);
    expect(a.settled()).toBe(false);

    // Arrives while the first fsync runs: it must neither commit now nor ride on that fsync.
    const b = watch(add('b'));
    const c = watch(add('c'));
    await turn();
    expect(rows()).toBe(1);
    expect(sync.started).toHaveLength(1);

    sync.started[0]!.resolve();
    await a.result;
    await turn();
    expect(b.settled()).toBe(false);
    expect(sync.started).toHaveLength(2);
    expect(sync.started[1]!.rowsAtStart).toBe(3); // b and c committed together, before the second fsync
    sync.started[1]!.resolve();
    await expect(Promise.all([b.result, c.result])).resolves.toEqual([1, 1]);
  });

  it('resolves a non-durable write at its commit, with no fsync of its own', async () => {
    const { sync, add, rows } = setup();
    await expect(add('mark', false)).resolves.toBe(1);
    expect(rows()).toBe(1);
    expect(sync.started).toHaveLength(0);

    // In a group with a durable write, the mark still resolves before the fsync returns.
    const durable = watch(add('append'));
    const mark = add('mark2', false);
    await expect(mark).resolves.toBe(1);
    expect(durable.settled()).toBe(false);
    sync.started[0]!.resolve();
    await expect(durable.result).resolves.toBe(1);
  });

  it('fails the waiting writes and every later one once an fsync fails', async () => {
    const { sync, add } = setup();
    const a = watch(add('a'));
    await turn();
    const b = watch(add('b'));
    sync.started[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(a.result).rejects.toMatchObject({ code: 'MQGATE_ERR_OUTBOX_UNAVAILABLE' });
    await expect(b.result).rejects.toMatchObject({ code: 'MQGATE_ERR_OUTBOX_UNAVAILABLE' });
    const later = add('c');
    await expect(later).rejects.toBeInstanceOf(MqgateError);
    await expect(later).rejects.toMatchObject({ code: 'MQGATE_ERR_OUTBOX_UNAVAILABLE' });
    expect(sync.started).toHaveLength(1);
  });

  it('drain() waits for the running fsync, then commits and fsyncs what is queued', async () => {
    const { sync, committer, add, rows } = setup();
    const a = watch(add('a'));
    await turn();
    const b = watch(add('b'));
    const drained = watch(committer.drain());
    await turn();
    expect(drained.settled()).toBe(false);
    sync.started[0]!.resolve();
    await a.result;
    await turn();
    expect(rows()).toBe(2);
    expect(drained.settled()).toBe(false);
    sync.started[1]!.resolve();
    await drained.result;
    await expect(b.result).resolves.toBe(1);
  });
});
