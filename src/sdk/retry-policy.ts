import { backoffDelayMs } from '../relay/backoff.js';
import { NonRetriableError } from './non-retriable-error.js';

/** How a failed handler call is retried in-process before the message is dead-lettered. */
export interface RetryPolicy {
  /** Handler calls in all, the first included. */
  readonly maxAttempts: number;
  /** Backoff cap of the first retry; doubles per retry (full jitter). */
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialMs: 200, maxMs: 10_000 };

/** What to do after the handler failed on attempt `attempt` (1 = first call). */
export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly reason: 'non-retriable' | 'attempts-exhausted' };

/**
 * Retry with exponential backoff and full jitter until `maxAttempts` calls failed; a NonRetriableError
 * (or any error with `retriable === false`, as MqgateError has) dead-letters at once. `random` is
 * injectable so tests can pin the jitter.
 */
export function decideRetry(
  policy: RetryPolicy,
  error: unknown,
  attempt: number,
  random: () => number = Math.random,
): RetryDecision {
  if (isNonRetriable(error)) return { action: 'dead-letter', reason: 'non-retriable' };
  if (attempt >= policy.maxAttempts) return { action: 'dead-letter', reason: 'attempts-exhausted' };
  return { action: 'retry', delayMs: backoffDelayMs(policy, attempt, random) };
}

function isNonRetriable(error: unknown): boolean {
  if (error instanceof NonRetriableError) return true;
  return (
    typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === false
  );
}
