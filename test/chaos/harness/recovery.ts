import type { Acked } from './accounting.js';
import type { ChaosWorld } from './scenario.js';

/** What `GET /v1/messages/{id}` says about a delivered message (the fields a recovery measure needs). */
export interface DeliveryView {
  acceptedAt: string;
  backend?: string;
  partition?: number;
  deliveredAt?: string;
}

export interface Recovery {
  /**
   * From the kill to the first broker ack of an affected message accepted after the kill: how long the
   * gateway needed to get going again. Undefined if no such message was delivered.
   */
  recoveryMs: number | undefined;
  /** Largest accept-to-ack delay among the messages accepted from shortly before the kill on. */
  maxDelayMs: number;
}

/**
 * Measures a kill's effect from the gateway's own status records. `affected` picks the messages the dead
 * node served (for Kafka, those on the partitions it led); by default every message is affected. Reads
 * `acked[fromIndex - 200 ..]` (about a second before the kill onwards), 25 requests at a time.
 */
export async function measureRecovery(
  world: ChaosWorld,
  acked: readonly Acked[],
  fromIndex: number,
  killedAt: number,
  affected: (v: DeliveryView) => boolean = () => true,
): Promise<Recovery> {
  const ids = acked.slice(Math.max(0, fromIndex - 200)).map((a) => a.id);
  let first: number | undefined;
  let maxDelayMs = 0;
  for (let i = 0; i < ids.length; i += 25) {
    const views = await Promise.all(
      ids.slice(i, i + 25).map((id) => world.json<DeliveryView>(`/v1/messages/${id}`)),
    );
    for (const v of views) {
      if (v.deliveredAt === undefined) continue;
      const accepted = Date.parse(v.acceptedAt);
      const delivered = Date.parse(v.deliveredAt);
      maxDelayMs = Math.max(maxDelayMs, delivered - accepted);
      if (accepted >= killedAt && affected(v)) first = Math.min(first ?? delivered, delivered);
    }
  }
  return { recoveryMs: first === undefined ? undefined : first - killedAt, maxDelayMs };
}
