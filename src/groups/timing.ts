import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Timing of consumer group membership on backends where mqgate keeps the membership itself. */
export interface GroupTiming {
  /** A member not heard from for this long is dead; its partitions go to the others. */
  readonly sessionTimeoutMs: number;
  /** How often a member says it is alive, renews its leases and re-checks the assignment. */
  readonly heartbeatIntervalMs: number;
}

export const DEFAULT_GROUP_TIMING: GroupTiming = Object.freeze({
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_000,
});

/** A member id unique per process: host, pid and a random suffix (readable in XINFO and the UI). */
export function defaultMemberId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}
