import type { Redis } from 'ioredis';
import { MqgateError } from '../../src/errors.js';
import { withTimeout } from '../../src/with-timeout.js';
import { mapRedisError } from './errors.js';

/** Default bound on a probe: shorter than the failover's probe interval budget. */
export const PROBE_TIMEOUT_MS = 1_000;

/**
 * One PING on the backend's connection, bounded by `timeoutMs`. Resolves when Redis answers PONG; rejects
 * with a retriable MqgateError otherwise (not connected, timed out, an error reply such as LOADING).
 */
export async function probeRedis(client: Redis, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<void> {
  try {
    const reply = await withTimeout(client.ping(), timeoutMs, 'redis PING');
    if (reply !== 'PONG') {
      throw new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `redis answered PING with ${reply}`);
    }
  } catch (err) {
    throw mapRedisError(err);
  }
}
