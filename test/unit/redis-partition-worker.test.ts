import { describe, expect, it } from 'vitest';
import type { RawEntry } from '../../adapters/redis/group-streams.js';
import { PartitionWorker } from '../../adapters/redis/partition-worker.js';

const entry = (id: string): RawEntry => ({ id, fields: [] });

/** A worker whose deliveries resolve at once (handled), and a way to wait until it is idle again. */
function worker() {
  const handled: string[] = [];
  let idle: () => void = () => undefined;
  const w = new PartitionWorker(
    { topic: 't', partition: 0 },
    'mqgate:{t:0}',
    async (_w, e) => {
      handled.push(e.id);
      return true;
    },
    () => idle(),
  );
  const becameIdle = () => new Promise<void>((resolve) => (idle = resolve));
  return { w, handled, becameIdle };
}

describe('redis PartitionWorker: where the next read starts', () => {
  it('reads its pending list, then new entries once the pending list is empty', async () => {
    const { w, handled, becameIdle } = worker();
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '0']);
    const idle = becameIdle();
    w.push([entry('1-0'), entry('2-0')]);
    await idle;
    expect(handled).toEqual(['1-0', '2-0']);
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '2-0']);
    w.push([]);
    expect(w.mode).toBe('new');
  });

  it('rewind: an idle worker reads its pending list from the start next', () => {
    const { w } = worker();
    w.push([]);
    expect(w.mode).toBe('new');
    w.rewind();
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '0']);
  });

  it('rewind during a read of new entries: what that read brings does not move it past the claimed ones', async () => {
    const { w, handled, becameIdle } = worker();
    w.push([]);
    // The read of new entries was sent; the claim happens before its reply comes.
    w.rewind();
    const idle = becameIdle();
    w.push([entry('9-0')]);
    await idle;
    expect(handled).toEqual(['9-0']);
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '0']);
  });

  it('rewind during a pending read after an id: the next read starts from the start again', async () => {
    const { w, becameIdle } = worker();
    let idle = becameIdle();
    w.push([entry('1-0')]);
    await idle;
    expect(w.pendingAfter).toBe('1-0');
    // A pending read after 1-0 is in flight when an older entry is claimed for this member.
    w.rewind();
    idle = becameIdle();
    w.push([entry('5-0')]);
    await idle;
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '0']);
  });

  it('rewind during a pending read that comes back empty: one more read of the pending list, then new ones', () => {
    const { w } = worker();
    w.rewind();
    w.push([]);
    expect([w.mode, w.pendingAfter]).toEqual(['pending', '0']);
    w.push([]);
    expect(w.mode).toBe('new');
  });

  it('a stopped worker ignores what a late read brings', async () => {
    const { w, handled } = worker();
    await w.stop();
    w.push([entry('1-0')]);
    expect(handled).toEqual([]);
    expect(w.idle).toBe(false);
  });
});
