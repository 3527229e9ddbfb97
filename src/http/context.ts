import type { AuthConfig, RateLimitConfig } from '../config/types.js';
import type { HealthMonitor } from '../failover/health.js';
import type { Outbox } from '../ports/outbox.js';
import type { PullService } from '../pull/pull-service.js';
import type { PushSubscriptions } from '../push/push-subscriptions.js';
import type { Relay } from '../relay/relay.js';
import type { Router } from '../routing/router.js';
import type { MessageLimits } from './message-fields.js';

/** Request-size limits the HTTP layer enforces. */
export interface HttpLimits extends MessageLimits {
  readonly bodyLimitBytes: number;
  readonly batchMaxCount: number;
  readonly batchMaxBytes: number;
}

/** What the routes need from the rest of the gateway. */
export interface AppContext {
  readonly outbox: Outbox;
  readonly router: Router;
  readonly relay: Relay;
  readonly health: HealthMonitor;
  readonly limits: HttpLimits;
  /** True once shutdown began: readiness fails and publishes get 503. */
  readonly draining: () => boolean;
  /** Who may call what; `none` (everyone, everything) when unset. */
  readonly auth?: AuthConfig;
  /** Per-credential request rate; off when unset. */
  readonly rateLimit?: RateLimitConfig;
  /** Push subscriptions (`/v1/subscriptions`); the routes are absent when unset. */
  readonly subscriptions?: PushSubscriptions;
  /** Pull with leases (`/v1/groups/...`); the routes are absent when unset. */
  readonly pull?: PullService;
}
