import type { Logger } from 'pino';
import type { SubscriptionConfig } from '../config/types.js';
import { MqgateError } from '../errors.js';
import { backoffDelayMs } from '../relay/backoff.js';
import type { Handler } from '../sdk/types.js';
import { cloudEventRequest, retryAfterMs } from './cloudevent-request.js';

/** Longest wait a `Retry-After` may ask for; a longer one is cut to this and the request tried again. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * The SDK handler of a push subscription: POSTs the message to the endpoint and resolves on a 2xx.
 *
 * - 429 and 503 are back-pressure, not failures: the same call waits `Retry-After` (delta-seconds or
 *   HTTP-date, capped at 5 min; exponential backoff when absent) and POSTs again, so they never count
 *   toward `retry.maxAttempts` and never dead-letter the message. The key waits meanwhile.
 * - Any other answer, a connection error or the `timeout` rejects with a retriable error: the SDK retries
 *   with backoff up to `retry.maxAttempts` calls, then dead-letters.
 * - `stop` aborts a request or a wait in progress (gateway shutdown): the message is left unacknowledged.
 */
export function pushHandler(spec: SubscriptionConfig, stop: AbortSignal, logger: Logger): Handler {
  return async (message) => {
    const { headers, body } = cloudEventRequest(message);
    const context = {
      subscription: spec.name,
      id: message.id,
      topic: message.topic,
      attempt: message.attempt,
    };
    for (let throttled = 1; ; throttled++) {
      if (stop.aborted) throw new MqgateError('MQGATE_ERR_DRAINING', 'subscription is closing', { context });
      let status: number;
      let retryAfter: string | null;
      try {
        const res = await fetch(spec.endpoint, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(spec.timeoutMs), stop]),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        if (stop.aborted)
          throw new MqgateError('MQGATE_ERR_DRAINING', 'subscription is closing', { context });
        const timedOut = err instanceof Error && err.name === 'TimeoutError';
        throw new MqgateError(
          timedOut ? 'MQGATE_ERR_ENDPOINT_TIMEOUT' : 'MQGATE_ERR_ENDPOINT_FAILED',
          timedOut ? `no answer within ${spec.timeoutMs} ms` : `request failed: ${(err as Error).message}`,
          { cause: err, context },
        );
      }
      if (status >= 200 && status < 300) return;
      if (status !== 429 && status !== 503) {
        throw new MqgateError('MQGATE_ERR_ENDPOINT_FAILED', `endpoint answered ${status}`, {
          context: { ...context, status },
        });
      }
      const delayMs =
        retryAfterMs(retryAfter, Date.now(), MAX_RETRY_AFTER_MS) ??
        backoffDelayMs({ initialMs: spec.retry.initialMs, maxMs: spec.retry.maxMs }, throttled);
      logger.debug({ ...context, status, delayMs }, 'endpoint asked to slow down');
      await sleep(delayMs, stop);
    }
  };
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}
