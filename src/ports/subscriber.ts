import type { Envelope } from '../envelope.js';
import type { MqgateError } from '../errors.js';
import type { Backend } from './backend.js';

/** A message handed to a subscriber, with the means to settle it. */
export interface Delivery {
  readonly envelope: Envelope;
  readonly backend: string;
  readonly partition?: number;
  readonly offset?: string;
}

/**
 * What a consumer group member asks of a backend.
 *
 * Contract every adapter keeps (the conformance tests check it):
 * - Partitions of a topic are shared among the group's live members, each owned by one member at a time;
 *   counts differ by at most one after a rebalance. A member that dies (no heartbeat within the session
 *   timeout) loses its partitions, and its unacknowledged messages go to the new owner.
 * - Within one partition, `onMessage` is called one message at a time, in partition order: the next call
 *   waits for the previous promise to settle. Different partitions run concurrently. Prefetch is bounded.
 * - A message is acknowledged (offset committed, XACK, basic.ack) only after its promise resolved; a
 *   rejected promise means "not handled": the backend delivers it again, before later ones of its partition.
 * - `onRevoke` runs, and in-flight handlers of the revoked partitions settle, before another member can
 *   receive those partitions (where the broker allows: Kafka's cooperative protocol and RabbitMQ's
 *   single-active-consumer give this; on Redis the partition lease does).
 */
export interface SubscribeRequest {
  readonly group: string;
  readonly topics: readonly string[];
  /** This member's id in the group; unique per process. */
  readonly memberId?: string;
  /**
   * How long the member may be silent (no heartbeat) before the group gives its partitions to the others.
   * Adapters default it (Kafka: 10 s; Redis and RabbitMQ: 4 s, src/groups/timing.ts, with heartbeats at most a
   * third of it); on Kafka the broker bounds it (`group.min.session.timeout.ms`, 6 s).
   */
  readonly sessionTimeoutMs?: number;
  /**
   * Called for each message; the backend acknowledges it when the promise resolves and redelivers it later
   * when it rejects or the subscriber dies first.
   */
  readonly onMessage: (delivery: Delivery) => Promise<void>;
  /** Partitions given to this member, per topic. */
  readonly onAssign?: (assigned: readonly TopicPartition[]) => void | Promise<void>;
  /** Partitions taken away; called before another member can receive them. */
  readonly onRevoke?: (revoked: readonly TopicPartition[]) => void | Promise<void>;
  readonly onError?: (error: MqgateError) => void;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface Subscription {
  /** Stops intake, waits for in-flight handlers, commits and leaves the group. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The consuming side of a backend, used by the consumer SDK: consumer groups over the backend's partitions.
 * A separate ability from publishing, detected with `canSubscribe`.
 */
export interface SubscribableBackend extends Backend {
  subscribe(request: SubscribeRequest): Promise<Subscription>;
}

export function canSubscribe(backend: Backend): backend is SubscribableBackend {
  return typeof (backend as { subscribe?: unknown }).subscribe === 'function';
}
