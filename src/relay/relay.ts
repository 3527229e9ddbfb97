import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Envelope } from '../envelope.js';
import { MqgateError, toMqgateError } from '../errors.js';
import type { HealthMonitor } from '../failover/health.js';
import { RoutePolicy, type RouteSwitch } from '../failover/route-policy.js';
import type { Backend, DeliveryReceipt, PublishOutcome } from '../ports/backend.js';
import type { Outbox } from '../ports/outbox.js';
import type { ResolvedRoute, Router } from '../routing/router.js';
import { settleWithin, withTimeout } from '../with-timeout.js';
import { backoffDelayMs } from './backoff.js';
import type { DeliveredEvent, FailedEvent } from './events.js';
import { traceSend } from './tracing.js';
import { DeliveryWaiters, type WaitResult } from './waiters.js';

export type { DeliveredEvent, FailedEvent } from './events.js';

export interface RelayOptions {
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly leaseMs: number;
  readonly publishTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** How long a preferred backend must stay healthy before a failover route returns to it. */
  readonly failbackAfterMs: number;
  /** Claimed batches published at once (across keys; a key never has two messages in flight). */
  readonly maxInFlightBatches?: number;
  /** This relay's identity for outbox leases. */
  readonly owner: string;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** One claimed message and the backends it goes to in this round. */
interface Plan {
  readonly msg: Envelope;
  readonly route: ResolvedRoute;
  readonly targets: readonly string[];
  /** Mirror routes: backends that acknowledged it in earlier rounds. */
  readonly acked: readonly string[];
}

interface RelayEvents {
  delivered: [DeliveredEvent];
  failed: [FailedEvent];
  /** A route moved to another backend (failover, failback, or its first choice). */
  switch: [RouteSwitch];
}

/**
 * Moves messages from the outbox to the brokers: claims due messages under a lease,
 * picks each one's backend from its route and the backends' health, publishes, and marks the outcome.
 * Retriable failures come back after exponential backoff with full jitter, under the same id; permanent ones
 * and those past `maxAttempts` are dead-lettered with their error. Per-key order is the outbox's claim rule:
 * a key's next message is not handed out before the previous one is delivered or dead.
 */
export class Relay extends EventEmitter<RelayEvents> {
  readonly #outbox: Outbox;
  readonly #router: Router;
  readonly #backends: Map<string, Backend>;
  readonly #health: HealthMonitor;
  readonly #opts: RelayOptions;
  readonly #now: () => number;
  readonly #ensured = new Map<string, Set<string>>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #waiters: DeliveryWaiters;
  readonly #policy: RoutePolicy;
  readonly #switches: RouteSwitch[] = [];
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #closing = false;

  constructor(
    outbox: Outbox,
    router: Router,
    backends: Map<string, Backend>,
    health: HealthMonitor,
    opts: RelayOptions,
  ) {
    super();
    this.#outbox = outbox;
    this.#router = router;
    this.#backends = backends;
    this.#health = health;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#waiters = new DeliveryWaiters(outbox, this);
    this.#policy = new RoutePolicy(opts.failbackAfterMs, (change) => {
      opts.logger?.info(change, `route ${change.match}: ${change.reason} to ${change.to}`);
      this.#switches.push(change);
      if (this.#switches.length > 100) this.#switches.shift();
      this.emit('switch', change);
    });
    health.on('change', () => this.wake());
  }

  start(): void {
    if (this.#running !== undefined || this.#closing) return;
    this.#running = this.#loop().catch((err) => {
      this.#opts.logger?.fatal({ err }, 'relay loop stopped');
    });
  }

  /** Tells an idle relay that new messages may be due (called after an append commits). */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves when the message is delivered or dead, or with `undefined` after `timeoutMs`. */
  waitFor(id: string, timeoutMs: number): Promise<WaitResult | undefined> {
    return this.#waiters.wait(id, timeoutMs);
  }

  /** The last 100 route switches (failovers, failbacks), oldest first. */
  get switches(): readonly RouteSwitch[] {
    return this.#switches;
  }

  /** The backend a failover route uses now (undefined while none of its backends is usable). */
  activeBackend(route: ResolvedRoute): string | undefined {
    return this.#policy.active(route, (b) => this.#health.backendState(b), this.#now());
  }

  /** Stops claiming and waits for the batches in flight (their leases would expire anyway). Idempotent. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing = true;
    this.wake();
    const all = Promise.all([this.#running, ...this.#inflight]).then(() => undefined);
    await settleWithin(all, options.timeoutMs ?? 10_000);
    this.#waiters.close();
  }

  async #loop(): Promise<void> {
    const maxInFlight = this.#opts.maxInFlightBatches ?? 4;
    while (!this.#closing) {
      if (this.#inflight.size >= maxInFlight) {
        await Promise.race(this.#inflight);
        continue;
      }
      if (!this.#anyBackendUsable()) {
        await this.#idle(this.#opts.pollIntervalMs * 10);
        continue;
      }
      let batch: Envelope[];
      try {
        batch = await this.#outbox.claim({
          limit: this.#opts.batchSize,
          leaseMs: this.#opts.leaseMs,
          owner: this.#opts.owner,
        });
      } catch (err) {
        this.#opts.logger?.error({ err }, 'claim failed');
        await this.#idle(this.#opts.pollIntervalMs * 10);
        continue;
      }
      if (batch.length === 0) {
        await this.#idle(this.#opts.pollIntervalMs);
        continue;
      }
      const task: Promise<void> = this.#process(batch)
        .catch((err) => this.#opts.logger?.error({ err }, 'relay batch failed'))
        .finally(() => {
          this.#inflight.delete(task);
          this.wake();
        });
      this.#inflight.add(task);
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #anyBackendUsable(): boolean {
    for (const name of this.#backends.keys()) if (this.#health.allows(name)) return true;
    return false;
  }

  async #process(batch: Envelope[]): Promise<void> {
    const byBackend = new Map<string, Envelope[]>();
    const plans: Plan[] = [];
    const settles: Promise<void>[] = [];
    for (const msg of batch) {
      const route = this.#router.resolve(msg.topic);
      if (route === undefined) {
        const err = new MqgateError('MQGATE_ERR_NO_ROUTE', `no route for topic ${msg.topic}`, {
          context: { topic: msg.topic },
        });
        settles.push(this.#fail(msg, undefined, err));
        continue;
      }
      const plan = await this.#plan(route, msg);
      if (plan.targets.length === 0) {
        // No backend it still needs is usable: the message waits, untried, and its attempts are not spent.
        settles.push(
          this.#outbox.release(msg.id, this.#now() + this.#opts.pollIntervalMs * 10, this.#opts.owner),
        );
        continue;
      }
      plans.push(plan);
      for (const name of plan.targets) byBackend.set(name, [...(byBackend.get(name) ?? []), msg]);
    }
    const results = new Map<string, Map<string, PublishOutcome>>();
    await Promise.all(
      [...byBackend].map(async ([name, msgs]) => {
        const outcomes = await this.#publish(name, msgs);
        msgs.forEach((msg, i) => {
          const perMsg = results.get(msg.id) ?? new Map<string, PublishOutcome>();
          perMsg.set(name, outcomes[i]!);
          results.set(msg.id, perMsg);
        });
      }),
    );
    await Promise.all([...settles, ...plans.map((plan) => this.#settle(plan, results.get(plan.msg.id)!))]);
  }

  /** Where a message goes now: one backend (failover, balance), or each one still missing it (mirror). */
  async #plan(route: ResolvedRoute, msg: Envelope): Promise<Plan> {
    const health = (b: string) => this.#health.backendState(b);
    if (route.mode !== 'mirror') {
      const name = this.#policy.pick(route, health, msg, this.#now());
      return { msg, route, targets: name === undefined ? [] : [name], acked: [] };
    }
    const acked = Object.keys((await this.#outbox.get(msg.id))?.deliveries ?? {});
    const targets = route.backends.filter((b) => !acked.includes(b) && health(b).usable);
    return { msg, route, targets, acked };
  }

  async #settle(plan: Plan, outcomes: Map<string, PublishOutcome>): Promise<void> {
    const { msg, route } = plan;
    if (route.mode !== 'mirror') {
      const [name, outcome] = [...outcomes][0]!;
      return outcome.ok ? this.#delivered(msg, name, outcome.receipt) : this.#fail(msg, name, outcome.error);
    }
    // Mirror: every backend of the route must hold the message before it counts as delivered; the key's next
    // message waits until then, so each backend sees the key in seq order.
    const acked = [...plan.acked];
    let first: DeliveryReceipt | undefined;
    const failures: [string, MqgateError][] = [];
    for (const [name, outcome] of outcomes) {
      if (outcome.ok) {
        await this.#outbox.markMirrored(msg.id, name, outcome.receipt);
        acked.push(name);
        first ??= outcome.receipt;
      } else failures.push([name, outcome.error]);
    }
    const permanent = failures.find(([, e]) => !e.retriable);
    if (permanent !== undefined) return this.#fail(msg, permanent[0], permanent[1]);
    if (failures.length > 0) return this.#fail(msg, failures[0]![0], failures[0]![1]);
    if (route.backends.every((b) => acked.includes(b))) {
      return this.#delivered(msg, route.backends.join(','), first ?? {});
    }
    return this.#outbox.release(msg.id, this.#now() + this.#opts.pollIntervalMs * 10, this.#opts.owner);
  }

  /** Publishes to one backend and feeds its breaker; one outcome per message, never rejects. */
  async #publish(name: string, msgs: Envelope[]): Promise<PublishOutcome[]> {
    const backend = this.#backends.get(name)!;
    let outcomes: PublishOutcome[];
    try {
      await this.#ensureTopics(backend, msgs);
      outcomes = await withTimeout(
        traceSend(backend.type, (batch) => backend.publish(batch))(msgs),
        this.#opts.publishTimeoutMs,
        `publish to ${name}`,
        name,
      );
    } catch (err) {
      // The outcome is unknown: every message is retried under its own id (at-least-once, never lost).
      const error = toMqgateError(err, 'MQGATE_ERR_BACKEND_UNAVAILABLE');
      outcomes = msgs.map(() => ({ ok: false, error }));
    }
    const missing = new MqgateError('MQGATE_ERR_INTERNAL', `${name} returned no outcome`);
    const all = msgs.map((_, i): PublishOutcome => outcomes[i] ?? { ok: false, error: missing });
    const failure = all.find((o): o is Extract<PublishOutcome, { ok: false }> => !o.ok && o.error.retriable);
    if (all.some((o) => o.ok)) this.#health.recordSuccess(name);
    else if (failure !== undefined) this.#health.recordFailure(name, failure.error);
    return all;
  }

  async #ensureTopics(backend: Backend, msgs: Envelope[]): Promise<void> {
    const done = this.#ensured.get(backend.name) ?? new Set<string>();
    this.#ensured.set(backend.name, done);
    for (const topic of new Set(msgs.map((m) => m.topic))) {
      if (done.has(topic)) continue;
      await backend.ensureTopic(topic);
      done.add(topic);
    }
  }

  async #delivered(msg: Envelope, backend: string, receipt: DeliveryReceipt): Promise<void> {
    await this.#outbox.markDelivered(msg.id, backend, receipt);
    this.emit('delivered', {
      id: msg.id,
      topic: msg.topic,
      backend,
      receipt,
      attempt: msg.attempt,
      acceptedAt: Date.parse(msg.time),
    });
  }

  async #fail(msg: Envelope, backend: string | undefined, err: MqgateError): Promise<void> {
    const error = { code: err.code, message: err.message };
    const exhausted = err.retriable && msg.attempt >= this.#opts.maxAttempts;
    if (!err.retriable || exhausted) {
      const final = exhausted
        ? new MqgateError(
            'MQGATE_ERR_ATTEMPTS_EXHAUSTED',
            `gave up after ${msg.attempt} attempts: ${err.message}`,
            {
              cause: err,
            },
          )
        : err;
      await this.#outbox.markDead(msg.id, { code: final.code, message: final.message }, this.#opts.owner);
      this.#opts.logger?.warn(
        { id: msg.id, topic: msg.topic, backend, code: final.code },
        'message dead-lettered',
      );
      this.emit('failed', {
        id: msg.id,
        topic: msg.topic,
        backend,
        error: final,
        attempt: msg.attempt,
        dead: true,
      });
      return;
    }
    const delay = backoffDelayMs(
      { initialMs: this.#opts.backoffInitialMs, maxMs: this.#opts.backoffMaxMs },
      msg.attempt,
      this.#opts.random,
    );
    await this.#outbox.markRetry(msg.id, error, this.#now() + delay, this.#opts.owner);
    this.emit('failed', {
      id: msg.id,
      topic: msg.topic,
      backend,
      error: err,
      attempt: msg.attempt,
      dead: false,
    });
  }
}
