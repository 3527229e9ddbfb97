import { type Envelope, partitionOf } from '../envelope.js';
import type { RouteRule } from '../routing/router.js';
import type { BreakerSnapshot } from './breaker.js';

/** What the policy needs to know of one backend's health now. */
export interface BackendState {
  /** The relay may send to it (connected, breaker closed or half-open). */
  readonly usable: boolean;
  readonly snapshot: Pick<BreakerSnapshot, 'state' | 'since'>;
}

export interface RouteSwitch {
  readonly route: number;
  readonly match: string;
  readonly from: string | undefined;
  readonly to: string;
  readonly reason: 'initial' | 'failover' | 'failback';
  readonly at: number;
}

/**
 * Which backend each route uses now. Pure: no I/O, no timers; the caller passes health and the clock.
 *
 * - failover: stays on the active backend while it is usable; when it is not, moves to the first usable one in
 *   the route's order; returns to a backend earlier in the order only once that one has been closed (healthy)
 *   for `failbackAfterMs`, so a flapping broker does not pull traffic back and forth.
 * - balance: keys spread by hash over the usable backends.
 * - mirror: every usable backend (the relay delivers to each).
 */
export class RoutePolicy {
  readonly #active = new Map<number, string>();
  readonly #failbackAfterMs: number;
  readonly #onSwitch: (change: RouteSwitch) => void;

  constructor(failbackAfterMs: number, onSwitch: (change: RouteSwitch) => void = () => {}) {
    this.#failbackAfterMs = failbackAfterMs;
    this.#onSwitch = onSwitch;
  }

  /** The backend for one message, or undefined when none of the route's backends is usable. */
  pick(
    route: RouteRule & { index: number },
    health: (backend: string) => BackendState,
    msg: Pick<Envelope, 'id' | 'key'>,
    now: number,
  ): string | undefined {
    if (route.mode === 'balance') {
      const usable = route.backends.filter((b) => health(b).usable);
      return usable.length === 0 ? undefined : usable[partitionOf(msg.key ?? msg.id, usable.length)];
    }
    return this.active(route, health, now);
  }

  /** The failover choice for a route at `now` (also what `GET /v1/routes` shows). */
  active(route: RouteRule & { index: number }, health: (backend: string) => BackendState, now: number) {
    const current = this.#active.get(route.index);
    const currentAt = current === undefined ? -1 : route.backends.indexOf(current);
    if (current !== undefined && currentAt >= 0 && health(current).usable) {
      for (let i = 0; i < currentAt; i++) {
        const candidate = route.backends[i]!;
        const h = health(candidate);
        if (h.usable && h.snapshot.state === 'closed' && now - h.snapshot.since >= this.#failbackAfterMs) {
          return this.#switch(route, current, candidate, 'failback', now);
        }
      }
      return current;
    }
    const next = route.backends.find((b) => health(b).usable);
    if (next === undefined) return undefined;
    return this.#switch(route, current, next, current === undefined ? 'initial' : 'failover', now);
  }

  #switch(
    route: RouteRule & { index: number },
    from: string | undefined,
    to: string,
    reason: RouteSwitch['reason'],
    at: number,
  ) {
    if (from === to) return to;
    this.#active.set(route.index, to);
    this.#onSwitch({ route: route.index, match: route.match, from, to, reason, at });
    return to;
  }
}
