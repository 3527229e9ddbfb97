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

export interface SubscribeRequest {
  readonly group: string;
  readonly topics: readonly string[];
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
