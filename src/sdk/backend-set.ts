import type { Logger } from 'pino';
import { createBackend } from '../../adapters/index.js';
import type { Config } from '../config/types.js';
import { toMqgateError } from '../errors.js';
import type { Backend } from '../ports/backend.js';
import { canSubscribe, type Delivery, type Subscription, type TopicPartition } from '../ports/subscriber.js';
import { backoffDelayMs } from '../relay/backoff.js';
import type { BackendPlan } from './backend-plan.js';

export interface BackendSetOptions {
  readonly config: Config;
  readonly plan: BackendPlan;
  readonly group: string;
  readonly memberId: string;
  readonly sessionTimeoutMs: number | undefined;
  readonly logger: Logger;
  readonly deliver: (delivery: Delivery) => Promise<void>;
  readonly onAssign: (backend: string, partitions: readonly TopicPartition[]) => void;
  readonly onRevoke: (backend: string, partitions: readonly TopicPartition[]) => void;
  readonly onError: (error: Error) => void;
}

const RETRY = { initialMs: 1_000, maxMs: 30_000 };

/**
 * The backends a consumer reads from, built with the adapters' registry (the SDK never loads a broker client
 * itself), each connected and subscribed as one member of the group. A backend that is down at start does
 * not hold the others back: its subscription is retried in the background with backoff until it works or
 * the consumer closes, and each failure is reported.
 */
export class BackendSet {
  readonly #o: BackendSetOptions;
  readonly #backends = new Map<string, Backend>();
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(options: BackendSetOptions) {
    this.#o = options;
  }

  /** A backend by name, once built (for dead-letter publishing). */
  get(name: string): Backend | undefined {
    return this.#backends.get(name);
  }

  /** Backends subscribed now. */
  get subscribed(): readonly string[] {
    return [...this.#subscriptions.keys()];
  }

  /** Builds every backend and makes one attempt to subscribe each; failed ones keep trying in the background. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.#o.plan.topicsByBackend].map(async ([name, topics]) => {
        const cfg = this.#o.config.backends[name];
        if (!cfg) return;
        const backend = await createBackend(cfg, this.#o.logger);
        if (!canSubscribe(backend)) {
          this.#o.logger.warn(
            { backend: name, type: cfg.type },
            'backend cannot subscribe yet; its topics are not read',
          );
          return;
        }
        this.#backends.set(name, backend);
        await this.#attempt(name, topics, 1);
      }),
    );
  }

  /** Closes the subscriptions (each drains, commits and leaves its group), then the backends. Idempotent. */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const subs = [...this.#subscriptions.values()];
    this.#subscriptions.clear();
    const report = (err: unknown) => this.#o.onError(toMqgateError(err));
    await Promise.all(subs.map((s) => s.close({ timeoutMs }).catch(report)));
    const backends = [...this.#backends.values()];
    this.#backends.clear();
    await Promise.all(backends.map((b) => b.close({ timeoutMs }).catch(report)));
  }

  async #attempt(name: string, topics: readonly string[], attempt: number): Promise<void> {
    const backend = this.#backends.get(name);
    if (this.#closed || !backend || !canSubscribe(backend)) return;
    try {
      // connect(): the dead-letter path publishes through the same backend.
      await backend.connect();
      const sub = await backend.subscribe({
        group: this.#o.group,
        topics,
        memberId: this.#o.memberId,
        ...(this.#o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.#o.sessionTimeoutMs }),
        onMessage: this.#o.deliver,
        onAssign: (tps) => this.#o.onAssign(name, tps),
        onRevoke: (tps) => this.#o.onRevoke(name, tps),
        onError: (err) => this.#o.onError(err),
      });
      if (this.#closed) await sub.close({ timeoutMs: 5_000 });
      else this.#subscriptions.set(name, sub);
    } catch (err) {
      this.#o.onError(toMqgateError(err));
      if (this.#closed) return;
      const timer = setTimeout(
        () => {
          this.#timers.delete(timer);
          void this.#attempt(name, topics, attempt + 1);
        },
        backoffDelayMs(RETRY, attempt),
      );
      this.#timers.add(timer);
    }
  }
}
