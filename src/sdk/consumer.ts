import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import { MqgateError } from '../errors.js';
import { planBackends } from './backend-plan.js';
import { BackendSet } from './backend-set.js';
import { type DedupStore, MemoryDedupStore } from './dedup-store.js';
import { Dispatcher } from './dispatcher.js';
import { MessageBuffer } from './message-buffer.js';
import { DEFAULTS, type ResolvedOptions, resolveOptions } from './options.js';
import { SqliteDedupStore } from './sqlite-dedup-store.js';
import { traceProcess } from './tracing.js';
import type { ConsumerEvents, ConsumerOptions, Handler, IteratedMessage } from './types.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/**
 * A member of a consumer group that reads its topics from every backend of each topic's route (failover,
 * mirror and balance routes may each have put messages on any of them) and hands the handler each message
 * once, per key in seq order.
 *
 * - `run(handler)`: return = handled (recorded in the inbox, then acknowledged); throw = retried in-process
 *   with backoff while the message's key waits, up to `retry.maxAttempts` calls; NonRetriableError = dead
 *   letter at once. After the last attempt the message goes to the dead-letter topic on the backend it came
 *   from, and is acknowledged only once that publish was acknowledged.
 * - `for await (const msg of consumer)`: the same with `msg.ack()` / `msg.nack()`; at most `concurrency`
 *   messages are out at once (backpressure). Leaving the loop closes the consumer.
 * - `close()`: stops intake, waits for in-flight handlers, commits, leaves the group. Idempotent.
 * - Delivery is at-least-once from the brokers; the inbox (dedup by message id, written after the handler
 *   succeeded) makes processing effectively-once as long as the inbox remembers the id.
 */
export class Consumer extends EventEmitter<ConsumerEvents> implements AsyncIterable<IteratedMessage> {
  /** This member's id in its groups (host, pid, random suffix). */
  readonly memberId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #o: ResolvedOptions;
  readonly #logger: Logger;
  readonly #store: DedupStore;
  readonly #dispatcher: Dispatcher;
  readonly #backends: BackendSet;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #buffer: MessageBuffer<IteratedMessage> | undefined;

  /** Validates the options and loads the config; throws MQGATE_ERR_CONFIG or MQGATE_ERR_NO_ROUTE. */
  constructor(options: ConsumerOptions) {
    super();
    this.#o = resolveOptions(options);
    this.#logger = (options.logger ?? pino({ level: 'warn' }, pino.destination(2))).child({
      component: 'consumer',
      group: this.#o.group,
    });
    const plan = planBackends(this.#o.config, this.#o.topics);
    for (const s of plan.skipped) this.#logger.info(s, 'backend skipped');
    const dedup = this.#o.dedup;
    this.#store =
      dedup.store === 'sqlite'
        ? new SqliteDedupStore(dedup.path, this.#o.group)
        : new MemoryDedupStore(dedup.maxEntries ?? DEFAULTS.maxEntries);
    this.#dispatcher = new Dispatcher({
      store: this.#store,
      concurrency: this.#o.concurrency,
      ordered: this.#o.ordered,
      gapTimeoutMs: this.#o.gapTimeoutMs,
      retry: this.#o.retry,
      deadLetter: this.#o.deadLetter,
      backend: (name) => this.#backends.get(name),
      logger: this.#logger,
      onError: (err) => this.#error(err),
      onDeadLetter: (event) => this.emit('dead-letter', event),
      onGap: (gap) => this.emit('gap', gap),
    });
    this.#backends = new BackendSet({
      config: this.#o.config,
      plan,
      group: this.#o.group,
      memberId: this.memberId,
      sessionTimeoutMs: this.#o.sessionTimeoutMs,
      logger: this.#logger,
      deliver: this.#dispatcher.deliver,
      onAssign: (backend, assigned) => this.emit('rebalance', { backend, assigned, revoked: [] }),
      onRevoke: (backend, revoked) => {
        this.#dispatcher.revoke(backend, revoked);
        this.emit('rebalance', { backend, assigned: [], revoked });
      },
      onError: (err) => this.#error(err),
    });
  }

  /**
   * Starts consuming with `handler`; resolves once every backend made its first subscribe attempt (a backend
   * that is down keeps being retried in the background, and its failures are `error` events). Call once.
   */
  run(handler: Handler): Promise<void> {
    if (this.#started) throw new MqgateError('MQGATE_ERR_CONFIG', 'consumer.run() was already called');
    if (this.#closing) throw new MqgateError('MQGATE_ERR_DRAINING', 'consumer is closed');
    const systemOf = (backend: string) => this.#o.config.backends[backend]?.type ?? backend;
    this.#dispatcher.setHandler(traceProcess(systemOf, handler));
    this.#started = this.#backends.start();
    return this.#started;
  }

  /** Consumes through `for await`; each message must be settled with `ack()` or `nack()`. */
  [Symbol.asyncIterator](): AsyncIterator<IteratedMessage> {
    if (this.#buffer) throw new MqgateError('MQGATE_ERR_CONFIG', 'the consumer is already being iterated');
    const buffer = new MessageBuffer<IteratedMessage>();
    this.#buffer = buffer;
    const started = this.run(
      (msg) =>
        new Promise<void>((resolve, reject) => {
          buffer.push({
            ...msg,
            ack: () => resolve(),
            nack: (err?: unknown) => reject(err ?? new Error('nack')),
          });
        }),
    );
    return {
      next: async () => {
        await started;
        return buffer.next();
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * Stops intake, gives back held messages, waits up to `timeoutMs` (default 30 s) for in-flight handlers
   * (then aborts their `signal`), closes each subscription (commit, leave the group) and the backends.
   * Idempotent: later calls return the first call's promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#dispatcher.stopIntake();
    const closing = new MqgateError('MQGATE_ERR_DRAINING', 'the consumer is closing');
    for (const msg of this.#buffer?.end() ?? []) msg.nack(closing);
    await this.#started?.catch(() => undefined);
    if (!(await this.#dispatcher.drain(timeoutMs))) {
      this.#logger.warn({ timeoutMs, pending: this.#dispatcher.pending }, 'handlers still running at close');
    }
    await this.#backends.close(timeoutMs);
    this.#store.close();
  }

  #error(err: Error): void {
    // An `error` event nobody listens to would throw and crash the process: log it instead.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.#logger.warn({ err }, 'consumer error');
  }
}
