import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_TIMING, requestTiming } from '../../src/groups/timing.js';

describe('requestTiming', () => {
  it('keeps the backend timing when the request asks for none', () => {
    expect(requestTiming(DEFAULT_GROUP_TIMING, undefined)).toBe(DEFAULT_GROUP_TIMING);
  });

  it('uses the requested session timeout, heartbeating at most a third of it', () => {
    expect(requestTiming(DEFAULT_GROUP_TIMING, 10_000)).toEqual({
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
    });
    expect(requestTiming(DEFAULT_GROUP_TIMING, 1_500)).toEqual({
      sessionTimeoutMs: 1_500,
      heartbeatIntervalMs: 500,
    });
  });
});
