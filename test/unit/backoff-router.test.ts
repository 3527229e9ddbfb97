import { describe, expect, it } from 'vitest';
import { isValidTopic, partitionOf } from '../../src/envelope.js';
import { backoffDelayMs } from '../../src/relay/backoff.js';
import { globToRegExp, Router } from '../../src/routing/router.js';

describe('backoffDelayMs', () => {
  const policy = { initialMs: 100, maxMs: 1_000 };
  it('grows exponentially up to the cap (random pinned near 1)', () => {
    const r = () => 0.999999;
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelayMs(policy, a, r))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
  });
  it('is full jitter: zero random gives the 1 ms floor', () => {
    expect(backoffDelayMs(policy, 5, () => 0)).toBe(1);
  });
});

describe('Router', () => {
  const router = new Router([
    { match: 'orders.*', backends: ['kafka', 'rabbit'], mode: 'failover' },
    { match: 'audit', backends: ['redis'], mode: 'mirror' },
    { match: '*', backends: ['redis', 'kafka'], mode: 'failover' },
  ]);
  it('takes the first matching route in config order', () => {
    expect(router.resolve('orders.created')?.index).toBe(0);
    expect(router.resolve('orders.eu.created')?.index).toBe(0);
    expect(router.resolve('audit')?.index).toBe(1);
    expect(router.resolve('auditx')?.index).toBe(2);
    expect(router.resolve('orders')?.index).toBe(2);
  });
  it('has no route when nothing matches', () => {
    expect(new Router([{ match: 'a.*', backends: ['x'], mode: 'failover' }]).resolve('b')).toBeUndefined();
  });
  it('treats regex characters in globs literally', () => {
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('a?c').test('abc')).toBe(true);
  });
});

describe('topics and partitions', () => {
  it('follows Kafka’s topic rule and refuses a leading dot', () => {
    expect(isValidTopic('orders.created_v1-eu')).toBe(true);
    expect(isValidTopic('a'.repeat(249))).toBe(true);
    expect(isValidTopic('a'.repeat(250))).toBe(false);
    for (const bad of ['', '.hidden', 'has space', 'slash/x', 'ümlaut', '..'])
      expect(isValidTopic(bad)).toBe(false);
  });
  it('partitionOf is stable and in range', () => {
    expect(partitionOf('order-42', 6)).toBe(partitionOf('order-42', 6));
    for (let i = 0; i < 100; i++) {
      const p = partitionOf(`k${i}`, 6);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(6);
    }
  });
});
