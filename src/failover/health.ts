import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { type MqgateError, toMqgateError } from '../errors.js';
import type { Backend } from '../ports/backend.js';
import { withTimeout } from '../with-timeout.js';
import { Breaker, type BreakerPolicy, type BreakerSnapshot, type BreakerState } from './breaker.js';
import type { BackendState } from './route-policy.js';

export interface HealthOptions extends BreakerPolicy {
  readonly probeIntervalMs: number;
  /** Bound on one probe; default max(2 s, 2 probe intervals). */
  readonly probeTimeoutMs?: number;
  /** Bound on one connect attempt (an adapter may try several URLs); default 10 s. */
  readonly connectTimeoutMs?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export interface BackendHealthView extends BreakerSnapshot {
  readonly name: string;
  readonly type: string;
  readonly connected: boolean;
}

export interface HealthChange {
  readonly backend: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Keeps one breaker per backend, fed by the relay's publish outcomes (`record*`) and by its own probes every
 * `probeIntervalMs`. It also connects the backends, retrying until they answer, so the gateway can start while
 * every broker is down. Emits `change` (HealthChange) when a breaker changes state.
 */
export class HealthMonitor extends EventEmitter<{ change: [HealthChange] }> {
  readonly #backends: Map<string, Backend>;
  readonly #breakers = new Map<string, Breaker>();
  readonly #connected = new Set<string>();
  readonly #opts: HealthOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #probing = false;

  constructor(backends: Map<string, Backend>, options: HealthOptions) {
    super();
    this.#backends = backends;
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    // Unknown until the first connect: on trial, so the first publish or probe decides.
    for (const name of backends.keys()) this.#breakers.set(name, new Breaker(options, this.#now(), 'open'));
  }

  /** Starts connecting and probing; never waits for a broker. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    void this.#tick();
    this.#timer = setInterval(() => void this.#tick(), this.#opts.probeIntervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether the relay may send to this backend now. */
  allows(name: string): boolean {
    return this.#connected.has(name) && (this.#breakers.get(name)?.allows(this.#now()) ?? false);
  }

  /** Usability and breaker state of one backend now, for the route policy. */
  backendState(name: string): BackendState {
    const breaker = this.#breakers.get(name);
    if (breaker === undefined) return { usable: false, snapshot: { state: 'open', since: 0 } };
    const now = this.#now();
    return { usable: this.allows(name), snapshot: breaker.snapshot(now) };
  }

  recordSuccess(name: string): void {
    const breaker = this.#breakers.get(name);
    if (breaker === undefined) return;
    const from = breaker.state(this.#now());
    if (breaker.onSuccess(this.#now())) this.#emit(name, from);
  }

  recordFailure(name: string, err: MqgateError, hard = false): void {
    const breaker = this.#breakers.get(name);
    // A rejected message says nothing about the broker's health; a failed probe always does.
    if (breaker === undefined || (!err.retriable && !hard)) return;
    const from = breaker.state(this.#now());
    if (breaker.onFailure(this.#now(), { code: err.code, message: err.message }, hard))
      this.#emit(name, from);
  }

  view(): BackendHealthView[] {
    const now = this.#now();
    return [...this.#backends.values()].map((b) => ({
      name: b.name,
      type: b.type,
      connected: this.#connected.has(b.name),
      ...this.#breakers.get(b.name)!.snapshot(now),
    }));
  }

  #emit(backend: string, from: BreakerState): void {
    const snap = this.#breakers.get(backend)!.snapshot(this.#now());
    const change: HealthChange = {
      backend,
      from,
      to: snap.state,
      ...(snap.lastError ? { error: snap.lastError } : {}),
    };
    this.#opts.logger?.info(change, 'backend health changed');
    this.emit('change', change);
  }

  async #tick(): Promise<void> {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    const timeoutMs = this.#opts.probeTimeoutMs ?? Math.max(2_000, this.#opts.probeIntervalMs * 2);
    try {
      await Promise.all(
        [...this.#backends.values()].map(async (backend) => {
          try {
            if (!this.#connected.has(backend.name)) {
              await withTimeout(
                backend.connect(),
                this.#opts.connectTimeoutMs ?? 10_000,
                `connecting ${backend.name}`,
              );
              this.#connected.add(backend.name);
              this.#opts.logger?.info({ backend: backend.name }, 'backend connected');
            }
            await withTimeout(backend.probe(), timeoutMs, `probing ${backend.name}`);
            this.recordSuccess(backend.name);
          } catch (err) {
            this.recordFailure(backend.name, toMqgateError(err, 'MQGATE_ERR_BACKEND_UNAVAILABLE'), true);
          }
        }),
      );
    } finally {
      this.#probing = false;
    }
  }
}
