import type { Redis } from 'ioredis';
import { MqgateError } from '../../src/errors.js';
import { mapBullmqError } from './errors.js';

/** Default bound on a probe. */
export const PROBE_TIMEOUT_MS = 1_000;

/**
 * One PING on the producer connection, bounded by `timeoutMs`. Resolves on PONG; rejects with a retriable
 * MqgateError otherwise.
 */
export async function probeConnection(client: Redis, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', `bullmq redis PING took over ${timeoutMs}ms`)),
      timeoutMs,
    );
  });
  try {
    const reply = await Promise.race([client.ping(), timeout]);
    if (reply !== 'PONG') {
      throw new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `bullmq redis answered PING with ${reply}`);
    }
  } catch (err) {
    throw mapBullmqError(err);
  } finally {
    clearTimeout(timer);
  }
}
