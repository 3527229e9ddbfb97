import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Timing of consumer group membership on backends where mqgate keeps the membership itself. */
export interface GroupTiming {
  /** A member not heard from for this long is dead; its partitions go to the others. */
  readonly sessionTimeoutMs: number;
  /** How often a member says it is alive, renews its leases and re-checks the assignment. */
  readonly heartbeatIntervalMs: number;
}

// 4 s: a dead member's partitions move within about 5 s (the takeover target), while a member must miss
// three heartbeats in a row before it is declared dead (a GC pause or a busy event loop is not a death).
export const DEFAULT_GROUP_TIMING: GroupTiming = Object.freeze({
  sessionTimeoutMs: 4_000,
  heartbeatIntervalMs: 1_000,
});

/** A member id unique per process: host, pid and a random suffix (readable in XINFO and the UI). */
export function defaultMemberId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/**
 * The timing a member uses when its subscribe request may ask for its own session timeout (the SDK's
 * `sessionTimeoutMs`): the requested one, with heartbeats at most a third of it so that a member must miss
 * three in a row before it is declared dead; else `base` unchanged.
 */
export function requestTiming(base: GroupTiming, sessionTimeoutMs: number | undefined): GroupTiming {
  if (sessionTimeoutMs === undefined) return base;
  return {
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.min(base.heartbeatIntervalMs, Math.floor(sessionTimeoutMs / 3))),
  };
}
