/** Exponential backoff with full jitter (AWS architecture blog's "Full Jitter"): uniform in [0, min(max, base*2^n)). */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 = the first retry). `random` is injectable so tests can pin it.
 * Never below 1 ms, so a retry is never immediate in a tight loop.
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.floor(random() * exp));
}
