import type { RedisOptions } from 'ioredis';
import type { RedisConnection } from '../../src/config/types.js';

/** Bounds of the Redis connection; the defaults suit a relay that must fail fast and fail over. */
export interface RedisClientTuning {
  /** Bound on opening the TCP connection (and on asking Sentinel for the master). */
  readonly connectTimeoutMs: number;
  /** Bound on one command; a timed-out command has an unknown outcome and is reported retriable. */
  readonly commandTimeoutMs: number;
}

export const DEFAULT_TUNING: RedisClientTuning = { connectTimeoutMs: 3_000, commandTimeoutMs: 5_000 };

/** Longest pause between two reconnection attempts after a connection was lost. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * ioredis options for one mqgate connection: by URL, or through Sentinel (`sentinels` + `name`), where ioredis
 * asks the sentinels for the current master and follows it on failover.
 *
 * Contract: commands never wait for a connection (`enableOfflineQueue: false`, no retries), so a
 * publish to a Redis that is down fails at once with a retriable error and the relay can fail over; the
 * client itself keeps reconnecting in the background once it has been connected.
 */
export function redisOptions(
  connection: RedisConnection,
  connectionName: string,
  tuning: RedisClientTuning = DEFAULT_TUNING,
): { url?: string; options: RedisOptions } {
  const common: RedisOptions = {
    connectionName,
    lazyConnect: true,
    connectTimeout: tuning.connectTimeoutMs,
    commandTimeout: tuning.commandTimeoutMs,
    // A command in flight when the connection drops fails at once (0 retries) and is never resent behind the
    // relay's back: its outcome is unknown, so the relay retries it (same id) and keeps per-key order.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // Capped backoff; never gives up, so a Redis that comes back is used again without a new connect().
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), MAX_RECONNECT_DELAY_MS),
    // A replica answers READONLY after a failover demoted the node we talk to: reconnect (Sentinel then
    // resolves the new master). The failed command is not resent (1, not 2): its outcome goes back to the
    // relay as a retriable failure, and the relay decides.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (connection.mode === 'url') return { url: connection.url, options: common };
  return {
    options: {
      ...common,
      sentinels: connection.sentinels.map((s) => ({ host: s.host, port: s.port })),
      name: connection.masterName,
      role: 'master',
      // Subscribes to the sentinels' +switch-master so a failover is noticed before the old master's socket
      // times out.
      failoverDetector: true,
      ...(connection.password === undefined ? {} : { password: connection.password }),
    },
  };
}

/** A redacted description of where a connection points, safe to log (never the URL's password). */
export function describeConnection(connection: RedisConnection): string {
  if (connection.mode === 'sentinel') {
    const hosts = connection.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    return `sentinel ${connection.masterName}@${hosts}`;
  }
  try {
    const u = new URL(connection.url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis (unparsable url)';
  }
}
