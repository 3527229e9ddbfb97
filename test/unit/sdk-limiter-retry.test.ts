import { describe, expect, it } from 'vitest';
import { MqgateError } from '../../src/errors.js';
import { KeyedLimiter } from '../../src/sdk/keyed-limiter.js';
import { NonRetriableError } from '../../src/sdk/non-retriable-error.js';
import { decideRetry } from '../../src/sdk/retry-policy.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('KeyedLimiter', () => {
  it('runs at most `concurrency` tasks and never two of one key; a key keeps its order', async () => {
    const limiter = new KeyedLimiter(2);
    const log: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const task = (name: string) => () => {
      log.push(`start ${name}`);
      const g = gate();
      gates.set(name, g);
      return g.opened.then(() => log.push(`end ${name}`));
    };
    const all = [
      limiter.run('a', task('a1')),
      limiter.run('a', task('a2')),
      limiter.run('b', task('b1')),
      limiter.run(undefined, task('x')),
    ];
    await Promise.resolve();
    expect(log).toEqual(['start a1', 'start b1']);
    expect(limiter.running).toBe(2);
    gates.get('a1')?.open();
    await new Promise((r) => setTimeout(r, 0));
    // a2 was submitted before x and its key is free again: it goes first.
    expect(log).toContain('start a2');
    expect(log).not.toContain('start x');
    gates.get('b1')?.open();
    await new Promise((r) => setTimeout(r, 0));
    expect(log).toContain('start x');
    gates.get('a2')?.open();
    gates.get('x')?.open();
    await Promise.all(all);
    expect(limiter.running).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('passes a task rejection to its caller and frees the slot', async () => {
    const limiter = new KeyedLimiter(1);
    await expect(limiter.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run('k', () => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe('decideRetry', () => {
  const policy = { maxAttempts: 3, initialMs: 100, maxMs: 1_000 };

  it('retries with exponential backoff (full jitter) until maxAttempts', () => {
    expect(decideRetry(policy, new Error('x'), 1, () => 0.999)).toEqual({ action: 'retry', delayMs: 99 });
    expect(decideRetry(policy, new Error('x'), 2, () => 0.999)).toEqual({ action: 'retry', delayMs: 199 });
    expect(decideRetry(policy, new Error('x'), 3)).toEqual({
      action: 'dead-letter',
      reason: 'attempts-exhausted',
    });
  });

  it('dead-letters a NonRetriableError or a non-retriable MqgateError at once', () => {
    expect(decideRetry(policy, new NonRetriableError('bad'), 1)).toEqual({
      action: 'dead-letter',
      reason: 'non-retriable',
    });
    const rejected = new MqgateError('MQGATE_ERR_BACKEND_REJECTED', 'no');
    expect(decideRetry(policy, rejected, 1).action).toBe('dead-letter');
  });
});
