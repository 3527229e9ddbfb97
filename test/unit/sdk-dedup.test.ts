import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDedupStore } from '../../src/sdk/dedup-store.js';
import { Lru } from '../../src/sdk/lru.js';
import { SqliteDedupStore } from '../../src/sdk/sqlite-dedup-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sdk-dedup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Lru', () => {
  it('evicts the least recently written entry; a write refreshes, a read does not', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('a')).toBe(false);
    expect(lru.has('b')).toBe(true);
    lru.set('b', 4);
    lru.set('d', 5);
    expect(lru.has('c')).toBe(false);
    expect(lru.get('b')).toBe(4);
    expect(lru.size).toBe(2);
  });

  it('refuses a size below 1', () => {
    expect(() => new Lru(0)).toThrow(RangeError);
  });
});

describe('MemoryDedupStore', () => {
  it('remembers ids and the highest seq per key, bounded', () => {
    const s = new MemoryDedupStore(3);
    s.record({ id: 'a', topic: 't', key: 'k', seq: 2 });
    s.record({ id: 'b', topic: 't', key: 'k', seq: 1 });
    expect(s.has('a')).toBe(true);
    expect(s.lastSeq('t', 'k')).toBe(2);
    for (const id of ['c', 'd', 'e']) s.record({ id, topic: 't', seq: 1 });
    expect(s.has('a')).toBe(false);
    s.forgetSeqs();
    expect(s.lastSeq('t', 'k')).toBeUndefined();
  });
});

describe('SqliteDedupStore', () => {
  it('survives a reopen, scoped by group', () => {
    const path = join(dir, 'inbox.db');
    const a = new SqliteDedupStore(path, 'g1');
    a.record({ id: 'x', topic: 't', key: 'k', seq: 5 });
    a.record({ id: 'y', topic: 't', key: 'k', seq: 3 });
    a.close();
    a.close();
    const b = new SqliteDedupStore(path, 'g1');
    expect(b.has('x')).toBe(true);
    expect(b.lastSeq('t', 'k')).toBe(5);
    b.forgetSeqs();
    expect(b.lastSeq('t', 'k')).toBe(5);
    const other = new SqliteDedupStore(path, 'g2');
    expect(other.has('x')).toBe(false);
    b.close();
    other.close();
  });
});
