import { describe, expect, it } from 'vitest';
import { Breaker } from '../../src/failover/breaker.js';

const policy = { failureThreshold: 3, openForMs: 2_000 };
const err = { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', message: 'down' };

describe('Breaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const b = new Breaker(policy, 0);
    expect(b.onFailure(1, err)).toBe(false);
    expect(b.onFailure(2, err)).toBe(false);
    expect(b.state(2)).toBe('closed');
    expect(b.onFailure(3, err)).toBe(true);
    expect(b.state(3)).toBe('open');
    expect(b.allows(3)).toBe(false);
  });

  it('a success resets the count of consecutive failures', () => {
    const b = new Breaker(policy, 0);
    b.onFailure(1, err);
    b.onFailure(2, err);
    b.onSuccess(3);
    b.onFailure(4, err);
    b.onFailure(5, err);
    expect(b.state(5)).toBe('closed');
  });

  it('a hard failure (failed probe) opens at once', () => {
    const b = new Breaker(policy, 0);
    expect(b.onFailure(1, err, true)).toBe(true);
    expect(b.state(1)).toBe('open');
  });

  it('goes half-open after openFor, closes on success, reopens on failure', () => {
    const b = new Breaker(policy, 0);
    b.onFailure(0, err, true);
    expect(b.state(1_999)).toBe('open');
    expect(b.state(2_000)).toBe('half-open');
    expect(b.allows(2_000)).toBe(true);
    expect(b.onFailure(2_001, err)).toBe(true);
    expect(b.state(2_001)).toBe('open');
    expect(b.state(4_001)).toBe('half-open');
    expect(b.onSuccess(4_002)).toBe(true);
    expect(b.snapshot(4_002)).toMatchObject({ state: 'closed', since: 4_002, consecutiveFailures: 0 });
  });

  it('keeps the last error with its time', () => {
    const b = new Breaker(policy, 0);
    b.onFailure(7, err);
    expect(b.snapshot(7).lastError).toEqual({ ...err, at: 7 });
  });
});
