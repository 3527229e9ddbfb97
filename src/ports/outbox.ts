import type { Envelope } from '../envelope.js';
import type { DeliveryReceipt } from './backend.js';

/** A message as the HTTP layer hands it to the outbox: everything but the outbox-assigned fields. */
export type NewMessage = Omit<Envelope, 'seq' | 'attempt'>;

/** The answer for one appended message, in the order given. */
export type AppendResult =
  | { readonly id: string; readonly seq: number; readonly duplicate: false }
  | { readonly id: string; readonly seq: number; readonly duplicate: true };

export type MessageState = 'accepted' | 'delivering' | 'delivered' | 'dead';

/** One backend's acknowledgement of a message on a mirror route. */
export interface BackendDelivery {
  readonly partition?: number;
  readonly offset?: string;
  /** Epoch ms of the acknowledgement. */
  readonly at: number;
}

/** What `GET /v1/messages/{id}` shows. */
export interface MessageStatus {
  readonly id: string;
  readonly topic: string;
  readonly key?: string;
  readonly seq: number;
  readonly state: MessageState;
  /** Delivery attempts made so far. */
  readonly attempts: number;
  readonly acceptedAt: string;
  readonly backend?: string;
  readonly partition?: number;
  readonly offset?: string;
  readonly deliveredAt?: string;
  /** Last error (for `dead`, why it was dead-lettered). */
  readonly error?: { readonly code: string; readonly message: string };
  /** Mirror routes: which backends have acknowledged the message so far, and where. */
  readonly deliveries?: Readonly<Record<string, BackendDelivery>>;
}

export interface OutboxStats {
  /** Messages not yet delivered nor dead. */
  readonly depth: number;
  /** Bytes of those messages, counted against `maxBytes`. */
  readonly bytes: number;
  /** Age of the oldest of them, 0 when empty. */
  readonly oldestAgeMs: number;
  readonly dead: number;
}

export interface ClaimRequest {
  readonly limit: number;
  /** How long the claim holds before another relay may take the messages again. */
  readonly leaseMs: number;
  /** The relay that claims (a replica id); leases are per owner. */
  readonly owner: string;
}

/**
 * The durable store between the HTTP API and the relay.
 *
 * - `append()` resolves only once its messages are committed and fsync'd; concurrent calls may share one
 *   transaction and one fsync (group commit). One call is all-or-nothing. An id already accepted on the same
 *   topic within the retention window answers `duplicate: true` and stores nothing; an id accepted on another
 *   topic rejects with MQGATE_ERR_ID_CONFLICT. Past the `maxBytes` budget it rejects with MQGATE_ERR_OUTBOX_FULL.
 * - `claim()` hands out due messages under a lease, never a key's seq n+1 while its seq n is neither
 *   delivered nor dead, and never a message another owner holds under a live lease.
 * - A message whose lease expires (its relay died) is claimable again: at-least-once, same id.
 * - `markRetry`, `release` and `markDead` given an `owner` are ignored unless that owner still
 *   holds the message's lease (or, for `markDead`, the message is `accepted`): a relay whose lease expired while
 *   it was sending cannot undo the claim of the relay that took the message over, nor dead-letter it and so let
 *   the next seq of its key go while it is in flight. `markDelivered` and `markMirrored` always apply: the broker
 *   has the message.
 * - `close()` is idempotent; appends after it reject with MQGATE_ERR_DRAINING.
 */
export interface Outbox {
  start(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
  append(messages: readonly NewMessage[]): Promise<AppendResult[]>;
  claim(request: ClaimRequest): Promise<Envelope[]>;
  markDelivered(id: string, backend: string, receipt: DeliveryReceipt): Promise<void>;
  /**
   * Mirror routes: records that one backend acknowledged a claimed message, without finishing it (it is
   * delivered once every backend of its route has, through `markDelivered`). Ignored unless `delivering`.
   */
  markMirrored(id: string, backend: string, receipt: DeliveryReceipt): Promise<void>;
  /** Releases the claim after a retriable failure; the message is due again at `retryAt` (epoch ms). */
  markRetry(
    id: string,
    error: { code: string; message: string },
    retryAt: number,
    owner?: string,
  ): Promise<void>;
  /**
   * Gives a claimed message back untried (no backend could take it): due again at `retryAt`, and the attempt
   * the claim counted is not spent, so an outage never dead-letters a message.
   */
  release(id: string, retryAt: number, owner?: string): Promise<void>;
  markDead(id: string, error: { code: string; message: string }, owner?: string): Promise<void>;
  get(id: string): Promise<MessageStatus | undefined>;
  stats(): Promise<OutboxStats>;
  /** Deletes delivered messages older than the retention window; returns how many. */
  prune(): Promise<number>;
}
