import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createBackend } from '../adapters/index.js';
import type { Config } from './config/types.js';
import { HealthMonitor } from './failover/health.js';
import { buildApp } from './http/app.js';
import { DEFAULT_MESSAGE_LIMITS } from './http/message-fields.js';
import { uuidv7 } from './ids.js';
import { PostgresOutbox, SqliteOutbox } from './outbox/index.js';
import type { Backend } from './ports/backend.js';
import type { Outbox } from './ports/outbox.js';
import type { OutboxAdmin } from './ports/outbox-admin.js';
import { PullService } from './pull/pull-service.js';
import { PushSubscriptions } from './push/push-subscriptions.js';
import {
  PostgresSubscriptionStore,
  SqliteSubscriptionStore,
  type SubscriptionStore,
} from './push/subscription-store.js';
import { Relay } from './relay/relay.js';
import { Router } from './routing/router.js';

/** The outbox a gateway runs on: the port plus the dead-letter views of the admin API. */
export type GatewayOutbox = Outbox & OutboxAdmin;

/** The configured outbox driver, and where runtime push subscriptions are kept next to it. */
function openOutbox(config: Config, logger: Logger): { outbox: GatewayOutbox; store: SubscriptionStore } {
  const { maxBytes, retentionMs } = config.outbox;
  if (config.outbox.driver === 'postgres') {
    const url = config.outbox.url;
    return {
      outbox: new PostgresOutbox({ url, maxBytes, retentionMs, logger }),
      store: new PostgresSubscriptionStore(url),
    };
  }
  return {
    outbox: new SqliteOutbox({ path: config.outbox.path, maxBytes, retentionMs, logger }),
    store: new SqliteSubscriptionStore(config.outbox.path),
  };
}

export interface GatewayOptions {
  readonly logger: Logger;
  readonly version?: string;
  /** Backends to use instead of building them from the config (tests of pure logic). */
  readonly backends?: Map<string, Backend>;
}

/**
 * The whole gateway: outbox, backends, health, relay and HTTP, started in that order and closed in reverse.
 * Starting never waits for a broker: the outbox takes messages while every broker is down.
 */
export class Gateway {
  readonly app: FastifyInstance;
  readonly outbox: GatewayOutbox;
  readonly relay: Relay;
  readonly health: HealthMonitor;
  readonly backends: Map<string, Backend>;
  readonly subscriptions: PushSubscriptions;
  readonly #logger: Logger;
  readonly #config: Config;
  #draining = false;
  #pruneTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  private constructor(parts: {
    app: FastifyInstance;
    outbox: GatewayOutbox;
    relay: Relay;
    health: HealthMonitor;
    backends: Map<string, Backend>;
    subscriptions: PushSubscriptions;
    logger: Logger;
    config: Config;
  }) {
    this.app = parts.app;
    this.outbox = parts.outbox;
    this.relay = parts.relay;
    this.health = parts.health;
    this.backends = parts.backends;
    this.subscriptions = parts.subscriptions;
    this.#logger = parts.logger;
    this.#config = parts.config;
  }

  static async create(config: Config, options: GatewayOptions): Promise<Gateway> {
    const logger = options.logger;
    const { outbox, store } = openOutbox(config, logger.child({ component: 'outbox' }));
    const backends = options.backends ?? new Map<string, Backend>();
    if (options.backends === undefined) {
      for (const b of Object.values(config.backends)) backends.set(b.name, await createBackend(b, logger));
    }
    const health = new HealthMonitor(backends, {
      failureThreshold: config.failover.failureThreshold,
      openForMs: config.failover.openForMs,
      probeIntervalMs: config.failover.probeIntervalMs,
      logger: logger.child({ component: 'health' }),
    });
    const router = new Router(config.routes);
    const relay = new Relay(outbox, router, backends, health, {
      ...config.relay,
      failbackAfterMs: config.failover.failbackAfterMs,
      owner: `${hostname()}-${process.pid}-${uuidv7().slice(-8)}`,
      logger: logger.child({ component: 'relay' }),
    });
    const subscriptions = new PushSubscriptions(config, store, logger.child({ component: 'push' }));
    let gateway: Gateway | undefined;
    const app = await buildApp(
      {
        outbox,
        router,
        relay,
        health,
        draining: () => gateway?.draining ?? false,
        auth: config.auth,
        rateLimit: config.rateLimit,
        subscriptions,
        pull: new PullService(router, backends),
        limits: {
          ...DEFAULT_MESSAGE_LIMITS,
          idMaxLength: config.limits.idempotencyKeyMaxLength,
          headerMaxCount: config.limits.headerMaxCount,
          headerValueMaxBytes: config.limits.headerValueMaxBytes,
          bodyLimitBytes: config.server.bodyLimitBytes,
          batchMaxCount: config.limits.batchMaxCount,
          batchMaxBytes: config.limits.batchMaxBytes,
        },
      },
      {
        logger: logger.child({ component: 'http' }),
        ...(options.version ? { version: options.version } : {}),
      },
    );
    gateway = new Gateway({ app, outbox, relay, health, backends, subscriptions, logger, config });
    return gateway;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Opens the outbox and starts relaying; `listen` also binds the HTTP port. Returns the bound address. */
  async start(options: { listen?: boolean } = {}): Promise<string | undefined> {
    await this.outbox.start();
    this.health.start();
    this.relay.start();
    await this.subscriptions.start();
    const pruneEveryMs = Math.min(Math.max(this.#config.outbox.retentionMs / 10, 1_000), 3_600_000);
    this.#pruneTimer = setInterval(() => {
      this.outbox.prune().catch((err) => this.#logger.error({ err }, 'prune failed'));
    }, pruneEveryMs);
    this.#pruneTimer.unref();
    if (options.listen === false) {
      await this.app.ready();
      return undefined;
    }
    return this.app.listen({ host: this.#config.server.host, port: this.#config.server.port });
  }

  /**
   * Graceful stop: readiness fails and publishes get 503 at once; after `server.shutdownDelay` (time for load
   * balancers to notice) the listener closes and in-flight requests finish their commits; the relay finishes
   * its batches in flight (their outcomes are recorded; unclaimed messages stay in the outbox), then backends
   * and the outbox close. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.timeoutMs ?? 10_000);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#draining = true;
    clearInterval(this.#pruneTimer);
    const delayMs = this.#config.server.shutdownDelayMs;
    if (delayMs > 0) {
      this.#logger.info({ delayMs }, 'draining: readiness fails before the listener closes');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    await this.app.close();
    await this.subscriptions.close({ timeoutMs });
    await this.relay.close({ timeoutMs });
    await this.health.close();
    await Promise.allSettled([...this.backends.values()].map((b) => b.close({ timeoutMs })));
    await this.outbox.close({ timeoutMs });
  }
}
