import type { Envelope } from '../envelope.js';
import type { Backend } from './backend.js';

/** One message handed out by a claim, with the token that settles it. */
export interface LeasedMessage {
  readonly envelope: Envelope;
  /** Opaque to clients; names the backend's entry and the claim that holds it. */
  readonly token: string;
  /** Partition the entry sits in. */
  readonly partition: number;
  /** Times this entry was handed out (a repeated claim counts too), 1 on the first claim. */
  readonly deliveries: number;
}

export interface ClaimRequest {
  /** The pull group: members of one group share the topic's messages, each entry to one claim at a time. */
  readonly group: string;
  readonly topic: string;
  readonly max: number;
  readonly leaseMs: number;
  /**
   * The claim's identity. Repeating a claim with the same id while its lease runs returns the entries it
   * still holds, unacknowledged, instead of new ones (the retry of a claim whose response was lost).
   */
  readonly claimId: string;
}

/** The outcome of settling one token. */
export type SettleOutcome = 'acked' | 'released' | 'lost';

/**
 * Optional ability: pull consumption with leases, the lease state kept in the broker itself so that every
 * gateway replica serves the same group. Detect with `canLease`.
 *
 * Contract:
 * - `claim` hands out entries not acknowledged by the group, first those whose lease expired (or that were
 *   released), then new ones; an entry is held by one claim at a time until its lease expires.
 * - `ack` is idempotent: acknowledging an acknowledged entry is `acked` again. A token whose lease expired and
 *   was claimed by another claim is `lost` (the other claim now holds the entry).
 * - `release` (nack) makes the entry claimable again after `delayMs` (0: at once); `lost` as for `ack`.
 * - Per-key order is not kept across leases: an expired or released entry is handed out after later ones.
 */
export interface LeasingBackend extends Backend {
  claim(request: ClaimRequest): Promise<LeasedMessage[]>;
  ack(group: string, topic: string, tokens: readonly string[]): Promise<SettleOutcome[]>;
  release(group: string, topic: string, tokens: readonly string[], delayMs: number): Promise<SettleOutcome[]>;
}

export function canLease(backend: Backend): backend is LeasingBackend {
  return typeof (backend as { claim?: unknown }).claim === 'function';
}
