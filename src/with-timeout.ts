import { MqgateError } from './errors.js';

/**
 * Settles like `promise`, or rejects with a retriable MQGATE_ERR_BACKEND_TIMEOUT after `ms`. The promise
 * itself is not cancelled: its outcome, if it comes, is unknown to the caller (who must treat it so).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, backend?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', `${what} took longer than ${ms} ms`, {
            context: backend === undefined ? {} : { backend },
          }),
        ),
      ms,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Waits for `promise` at most `ms`: true when it fulfilled in time, false when the time ran out first (the
 * promise goes on; nothing is cancelled). A rejection comes through as it is. For `close({ timeoutMs })`.
 */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true as const), expired]).finally(() => clearTimeout(timer));
}
