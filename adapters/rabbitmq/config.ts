import type { RabbitmqBackendConfig } from '../../src/config/types.js';
import { DEFAULT_GROUP_TIMING } from '../../src/groups/timing.js';

/**
 * Tunables of the RabbitMQ adapter that the gateway config does not expose (yet). Every field has a default
 * below; tests and embedders pass overrides as the backend's third constructor argument.
 */
export interface RabbitmqOptions {
  /** Bound on opening one URL (TCP + AMQP handshake); the URLs are tried in order. */
  readonly connectTimeoutMs: number;
  /** AMQP heartbeat, in seconds, unless a URL sets its own `heartbeat` query parameter. */
  readonly heartbeatSec: number;
  /** How long a published message may wait for its publisher confirm before it counts as failed. */
  readonly confirmTimeoutMs: number;
  /** Bound on a health probe and on each topology request. */
  readonly requestTimeoutMs: number;
  /** Bound on declaring one topic's queues (one quorum queue per partition: slower than a probe). */
  readonly topologyTimeoutMs: number;
  /** After a failed reconnect, `publish()` fails fast for this long instead of dialling again. */
  readonly reconnectBackoffMs: number;
  /**
   * Largest message (body plus headers) the adapter sends. RabbitMQ's `max_message_size` is 128 MiB on 3.x
   * and 16 MiB from 4.0 on; a message over it makes the broker close the channel, which would fail every
   * in-flight message of the channel, so the adapter refuses it up front. Keep it at or below the broker's.
   */
  readonly maxMessageBytes: number;
  /** `x-delivery-limit` of quorum queues: deliveries before a message is dead-lettered. */
  readonly deliveryLimit: number;
  /** Consumer groups: a member not heard from for this long is dead and loses its partitions. */
  readonly sessionTimeoutMs: number;
  /** Consumer groups: how often a member heartbeats and re-checks the assignment. */
  readonly heartbeatIntervalMs: number;
  /** Consumer groups: messages a member holds unacknowledged per partition queue. */
  readonly prefetch: number;
}

export const DEFAULT_RABBITMQ_OPTIONS: RabbitmqOptions = Object.freeze({
  connectTimeoutMs: 3_000,
  heartbeatSec: 10,
  confirmTimeoutMs: 10_000,
  requestTimeoutMs: 2_000,
  topologyTimeoutMs: 15_000,
  reconnectBackoffMs: 1_000,
  maxMessageBytes: 16 * 1024 * 1024,
  deliveryLimit: 20,
  sessionTimeoutMs: DEFAULT_GROUP_TIMING.sessionTimeoutMs,
  heartbeatIntervalMs: DEFAULT_GROUP_TIMING.heartbeatIntervalMs,
  prefetch: 16,
});

/** The backend config plus the adapter's tunables, resolved once and frozen. */
export interface ResolvedRabbitmqConfig extends RabbitmqBackendConfig {
  readonly options: RabbitmqOptions;
}

export function resolveConfig(
  config: RabbitmqBackendConfig,
  overrides: Partial<RabbitmqOptions> = {},
): ResolvedRabbitmqConfig {
  return Object.freeze({ ...config, options: Object.freeze({ ...DEFAULT_RABBITMQ_OPTIONS, ...overrides }) });
}

/**
 * The URL amqplib dials: the configured one, with our heartbeat when it sets none (amqplib's default is 0,
 * which would leave a dead peer undetected until the OS gives up on the socket).
 */
export function dialUrl(url: string, heartbeatSec: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSec));
  return parsed.toString();
}

/** A URL fit for logs: the password is replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
