import type { Envelope } from '../envelope.js';
import type { MqgateError } from '../errors.js';

/** Where a broker acknowledged a message. */
export interface DeliveryReceipt {
  /** Partition (Kafka partition, Redis stream index, RabbitMQ routing-key partition). */
  readonly partition?: number;
  /** Broker position: Kafka offset, Redis stream entry id, BullMQ job id. */
  readonly offset?: string;
}

/** The outcome of one message of a `publish()` batch, in the batch's order. */
export type PublishOutcome =
  | { readonly ok: true; readonly receipt: DeliveryReceipt }
  | { readonly ok: false; readonly error: MqgateError };

/**
 * A broker behind mqgate. Each adapter in adapters/ implements it; nothing outside an adapter sees a driver
 * or a driver error.
 *
 * - `publish()` resolves only when the broker has acknowledged with its strongest durability (Kafka acks=-1,
 *   RabbitMQ publisher confirm of a persistent message routed to at least one queue, Redis XADD with the
 *   server's AOF `appendfsync always`). It never rejects: each message gets an outcome, and an outcome that
 *   is unknown (timeout, connection lost mid-request) is a failure with a retriable error, so the caller
 *   sends the same message (same id) again.
 * - Order: within one call, messages with the same key are published in array order.
 * - `close()` is idempotent and safe to call before `connect()` finished.
 */
export interface Backend {
  /** The backend's name in the config (`backends.<name>`). */
  readonly name: string;
  /** The backend's type (`kafka`, `rabbitmq`, `redis`, `bullmq`). */
  readonly type: string;
  connect(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
  publish(batch: readonly Envelope[]): Promise<PublishOutcome[]>;
  /** Resolves when the broker answers a cheap request within its timeout; rejects with an MqgateError. */
  probe(): Promise<void>;
  /** Creates the topic's broker objects (topic, exchange bindings, streams) if missing. Idempotent. */
  ensureTopic(topic: string): Promise<void>;
}

/** Optional ability: delayed and prioritised delivery (work queues). Detect with `hasScheduling`. */
export interface SchedulingBackend extends Backend {
  readonly features: { readonly delay: true; readonly priority: true };
}

export function hasScheduling(backend: Backend): backend is SchedulingBackend {
  const features = (backend as { features?: { delay?: unknown } }).features;
  return features?.delay === true;
}
