import type { Config } from '../config/types.js';
import { MqgateError } from '../errors.js';
import { Router } from '../routing/router.js';

/** Which topics the consumer reads on which backend. */
export interface BackendPlan {
  /** Backend name -> topics to subscribe there, in the order first seen. */
  readonly topicsByBackend: ReadonlyMap<string, readonly string[]>;
  /** Backends of the routes that cannot be subscribed to, with why. */
  readonly skipped: readonly { readonly backend: string; readonly reason: string }[];
}

/**
 * Plans the subscriptions: each topic is read on every backend of its route (failover, mirror and balance
 * may each have put some of its messages on any of them). BullMQ backends are skipped: they are work queues
 * (one job to one worker, with their own retries), not topics a group subscribes to. Throws
 * MQGATE_ERR_NO_ROUTE for a topic no route matches.
 */
export function planBackends(config: Config, topics: readonly string[]): BackendPlan {
  const router = new Router(config.routes);
  const topicsByBackend = new Map<string, string[]>();
  const skipped = new Map<string, string>();
  for (const topic of topics) {
    const route = router.resolve(topic);
    if (!route) {
      throw new MqgateError('MQGATE_ERR_NO_ROUTE', `no route matches topic ${topic}`, { context: { topic } });
    }
    for (const name of route.backends) {
      const backend = config.backends[name];
      if (!backend) continue;
      if (backend.type === 'bullmq') {
        skipped.set(name, 'bullmq backends are work queues, not subscribable topics');
        continue;
      }
      const list = topicsByBackend.get(name) ?? [];
      if (!list.includes(topic)) list.push(topic);
      topicsByBackend.set(name, list);
    }
  }
  return {
    topicsByBackend,
    skipped: [...skipped].map(([backend, reason]) => ({ backend, reason })),
  };
}
