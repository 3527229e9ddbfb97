import type { RedisOptions } from 'ioredis';
import type { RedisConnection } from '../../src/config/types.js';

/** BullMQ's own default key prefix; Workers must use the same prefix to see mqgate's jobs. */
export const DEFAULT_PREFIX = 'bull';

/** Bound on opening the TCP connection (and on asking Sentinel for the master). */
export const CONNECT_TIMEOUT_MS = 3_000;
/** Bound on one command; a timed-out add has an unknown outcome and is reported retriable. */
export const COMMAND_TIMEOUT_MS = 5_000;

const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * ioredis options of the producer connection that every topic's Queue shares.
 *
 * BullMQ asks for `maxRetriesPerRequest: null` only on blocking connections (Workers, QueueEvents); a Queue
 * that only adds jobs may fail fast, which is what a relay wants (docs.bullmq.io, "Failing fast when Redis
 * is down"): no offline queue, no retries, so an add while Redis is down fails at once and the relay fails
 * over. The client keeps reconnecting in the background once connected.
 */
export function producerOptions(
  connection: RedisConnection,
  connectionName: string,
): { url?: string; options: RedisOptions } {
  const common: RedisOptions = {
    connectionName,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // An add in flight when the socket drops fails (outcome unknown, the relay retries the same job id, which
    // BullMQ ignores if the first one landed) instead of being resent later behind the relay's back.
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), MAX_RECONNECT_DELAY_MS),
    // A demoted master answers READONLY: reconnect so that Sentinel gives us the new one.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (connection.mode === 'url') return { url: connection.url, options: common };
  return {
    options: {
      ...common,
      sentinels: connection.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: connection.masterName,
      role: 'master',
      failoverDetector: true,
      ...(connection.password === undefined ? {} : { password: connection.password }),
    },
  };
}
