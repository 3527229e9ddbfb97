import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Config, SubscriptionConfig } from '../config/types.js';
import { MqgateError } from '../errors.js';
import { PushSubscription } from './push-subscription.js';
import type { SubscriptionStore } from './subscription-store.js';

export type SubscriptionSource = 'config' | 'api';

export interface SubscriptionView extends SubscriptionConfig {
  readonly source: SubscriptionSource;
}

/**
 * The gateway's push subscriptions: those of the config file (read-only over HTTP) and those created with
 * `POST /v1/subscriptions` (persisted in the store, restarted with the gateway). `start()` / `close()` as
 * every component; `close()` is idempotent.
 */
export class PushSubscriptions {
  readonly #config: Config;
  readonly #store: SubscriptionStore;
  readonly #logger: Logger;
  readonly #running = new Map<string, { sub: PushSubscription; source: SubscriptionSource }>();
  #closing: Promise<void> | undefined;

  constructor(config: Config, store: SubscriptionStore, logger: Logger) {
    this.#config = config;
    this.#store = store;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    await this.#store.open();
    const specs: [SubscriptionConfig, SubscriptionSource][] = [
      ...this.#config.subscriptions.map((s) => [s, 'config'] as [SubscriptionConfig, SubscriptionSource]),
      ...(await this.#store.list()).map((s) => [s, 'api'] as [SubscriptionConfig, SubscriptionSource]),
    ];
    for (const [spec, source] of specs) {
      if (this.#running.has(spec.name)) {
        this.#logger.warn({ subscription: spec.name }, 'subscription name used twice; the first one runs');
        continue;
      }
      await this.#run(spec, source).catch((err) =>
        this.#logger.error({ err, subscription: spec.name }, 'push subscription did not start'),
      );
    }
  }

  list(): SubscriptionView[] {
    return [...this.#running.values()].map(({ sub, source }) => ({ ...sub.spec, source }));
  }

  get(name: string): SubscriptionView | undefined {
    const entry = this.#running.get(name);
    return entry && { ...entry.sub.spec, source: entry.source };
  }

  /**
   * Creates, persists and starts a subscription. Idempotent: the same definition again returns
   * `created: false`; another definition under a used name is MQGATE_ERR_SUBSCRIPTION_EXISTS.
   */
  async create(spec: SubscriptionConfig): Promise<{ created: boolean; view: SubscriptionView }> {
    if (this.#closing) throw new MqgateError('MQGATE_ERR_DRAINING', 'the gateway is shutting down');
    const existing = this.#running.get(spec.name);
    if (existing) {
      if (existing.source === 'api' && isDeepStrictEqual(existing.sub.spec, spec)) {
        return { created: false, view: { ...spec, source: 'api' } };
      }
      throw exists(spec.name);
    }
    if (!(await this.#store.add(spec))) throw exists(spec.name);
    try {
      await this.#run(spec, 'api');
    } catch (err) {
      await this.#store.remove(spec.name);
      throw err;
    }
    return { created: true, view: { ...spec, source: 'api' } };
  }

  /** Stops and forgets an API-created subscription; config ones are MQGATE_ERR_SUBSCRIPTION_READONLY. */
  async delete(name: string): Promise<void> {
    const entry = this.#running.get(name);
    if (!entry) throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no subscription ${name}`);
    if (entry.source === 'config') {
      throw new MqgateError(
        'MQGATE_ERR_SUBSCRIPTION_READONLY',
        `subscription ${name} comes from the config file`,
      );
    }
    await this.#store.remove(name);
    this.#running.delete(name);
    await entry.sub.close({ timeoutMs: 10_000 });
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      const subs = [...this.#running.values()].map((e) => e.sub);
      this.#running.clear();
      await Promise.allSettled(subs.map((s) => s.close(options)));
      await this.#store.close();
    })();
    return this.#closing;
  }

  async #run(spec: SubscriptionConfig, source: SubscriptionSource): Promise<void> {
    const sub = new PushSubscription(spec, this.#config, this.#logger);
    this.#running.set(spec.name, { sub, source });
    try {
      await sub.start();
    } catch (err) {
      this.#running.delete(spec.name);
      await sub.close().catch(() => undefined);
      throw err;
    }
  }
}

function exists(name: string): MqgateError {
  return new MqgateError('MQGATE_ERR_SUBSCRIPTION_EXISTS', `subscription name ${name} is already used`);
}
