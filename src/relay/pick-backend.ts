import { type Envelope, partitionOf } from '../envelope.js';
import type { RouteRule } from '../routing/router.js';

/**
 * Which backend a message goes to now, or undefined when none of its route's backends may take traffic.
 * - failover: the first usable backend in the route's order.
 * - balance: keys spread by hash over the usable backends (a key stays put while the set is unchanged).
 * - mirror: handled as failover until per-backend delivery state exists (see docs/routing.md).
 */
export function pickBackend(
  route: RouteRule,
  usable: (backend: string) => boolean,
  msg: Pick<Envelope, 'id' | 'key'>,
): string | undefined {
  const healthy = route.backends.filter(usable);
  if (healthy.length === 0) return undefined;
  if (route.mode === 'balance') return healthy[partitionOf(msg.key ?? msg.id, healthy.length)];
  return healthy[0];
}
