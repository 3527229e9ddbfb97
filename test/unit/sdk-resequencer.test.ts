import { describe, expect, it } from 'vitest';
import { type Clock, type GapInfo, Resequencer } from '../../src/sdk/resequencer.js';

/** A clock whose time moves only when the test says so. */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.filter((x) => x.at <= now)) {
      timers = timers.filter((x) => x !== t);
      t.fn();
    }
  };
  return { clock, advance };
}

function setup(last: Record<string, number> = {}, gapTimeoutMs = 1_000) {
  const { clock, advance } = manualClock();
  const ready: number[] = [];
  const gaps: GapInfo[] = [];
  const r = new Resequencer<string>({
    gapTimeoutMs,
    clock,
    lastSeq: (_t, key) => last[key],
    onReady: (e) => ready.push(e.seq),
    onGap: (g) => gaps.push(g),
  });
  const offer = (seq: number, key = 'k') => r.offer({ topic: 't', key, seq, value: `${key}${seq}` });
  return { r, ready, gaps, advance, offer };
}

describe('Resequencer', () => {
  it('hands over one message per key at a time, in seq order', () => {
    const { r, ready, offer } = setup({ k: 0 });
    offer(1);
    offer(2);
    expect(ready).toEqual([1]);
    r.done('t', 'k', 1, true);
    expect(ready).toEqual([1, 2]);
  });

  it('holds a later seq until the missing one arrives (from another backend)', () => {
    const { r, ready, gaps, advance, offer } = setup({ k: 4 });
    expect(offer(6)).toBe('accepted');
    expect(ready).toEqual([]);
    advance(500);
    offer(5);
    expect(ready).toEqual([5]);
    r.done('t', 'k', 5, true);
    expect(ready).toEqual([5, 6]);
    advance(5_000);
    expect(gaps).toEqual([]);
  });

  it('reports a gap after the timeout and hands the held message over', () => {
    const { ready, gaps, advance, offer } = setup({ k: 4 }, 1_000);
    offer(7);
    advance(999);
    expect(ready).toEqual([]);
    advance(1);
    expect(gaps).toEqual([{ topic: 't', key: 'k', expectedSeq: 5, gotSeq: 7 }]);
    expect(ready).toEqual([7]);
  });

  it('answers stale for seq <= last handled, and handles the first seq of an unknown key at once', () => {
    const { ready, offer } = setup({ k: 4 });
    expect(offer(4)).toBe('stale');
    expect(offer(3)).toBe('stale');
    expect(offer(9, 'fresh')).toBe('accepted');
    expect(ready).toEqual([9]);
  });

  it('a message not handled leaves the last seq: later ones wait for its redelivery', () => {
    const { r, ready, offer } = setup({ k: 0 });
    offer(1);
    offer(2);
    r.done('t', 'k', 1, false);
    expect(ready).toEqual([1]);
    offer(1);
    expect(ready).toEqual([1, 1]);
    r.done('t', 'k', 1, true);
    expect(ready).toEqual([1, 1, 2]);
  });

  it('keys do not wait for each other', () => {
    const { ready, offer } = setup({ a: 0, b: 0 });
    offer(2, 'a');
    offer(1, 'b');
    expect(ready).toEqual([1]);
  });

  it('release() gives back held entries', () => {
    const { r, ready, gaps, advance, offer } = setup({ k: 0 });
    offer(3);
    const released = r.release(() => true);
    expect(released.map((e) => e.value)).toEqual(['k3']);
    advance(10_000);
    expect(ready).toEqual([]);
    expect(gaps).toEqual([]);
    expect(r.activeKeys).toBe(0);
  });
});
