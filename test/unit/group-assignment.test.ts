import { describe, expect, it } from 'vitest';
import { assignPartitions, diffAssignment, tpKey } from '../../src/groups/assignment.js';

const counts = (a: Map<string, unknown[]>) => [...a.values()].map((l) => l.length);

describe('assignPartitions', () => {
  it('gives partition i of a topic to member i mod n, members sorted by id', () => {
    const a = assignPartitions(['c', 'a', 'b'], ['t'], 6);
    expect(a.get('a')!.map((tp) => tp.partition)).toEqual([0, 3]);
    expect(a.get('b')!.map((tp) => tp.partition)).toEqual([1, 4]);
    expect(a.get('c')!.map((tp) => tp.partition)).toEqual([2, 5]);
  });

  it('is the same whatever order the members and topics come in', () => {
    expect(assignPartitions(['b', 'a'], ['y', 'x'], 3)).toEqual(
      assignPartitions(['a', 'b', 'a'], ['x', 'y'], 3),
    );
  });

  it('keeps counts within one of each other, every partition owned once', () => {
    for (let n = 1; n <= 7; n++) {
      for (const [topics, partitions] of [
        [['a'], 6],
        [['a', 'b'], 5],
        [['a', 'b', 'c'], 1],
      ] as const) {
        const members = Array.from({ length: n }, (_, i) => `m${i}`);
        const a = assignPartitions(members, topics, partitions);
        const c = counts(a);
        expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        const all = [...a.values()].flat().map(tpKey);
        expect(new Set(all).size).toBe(all.length);
        expect(all.length).toBe(topics.length * partitions);
      }
    }
  });

  it('returns empty lists for members when there is nothing to assign, and nothing without members', () => {
    expect(counts(assignPartitions(['a', 'b'], [], 6))).toEqual([0, 0]);
    expect(assignPartitions([], ['t'], 6).size).toBe(0);
  });
});

describe('diffAssignment', () => {
  it('revokes what is no longer wanted and acquires what is new', () => {
    const tp = (partition: number) => ({ topic: 't', partition });
    expect(diffAssignment([tp(0), tp(1)], [tp(1), tp(2)])).toEqual({ revoke: [tp(0)], acquire: [tp(2)] });
  });
});
