import type { Logger } from 'pino';
import { MqgateError, toMqgateError } from '../errors.js';
import type { Backend } from '../ports/backend.js';
import type { Delivery, TopicPartition } from '../ports/subscriber.js';
import { settleWithin } from '../with-timeout.js';
import { deadLetterEnvelope, defaultDeadLetterTopic, publishDeadLetter } from './dead-letter.js';
import type { DedupStore } from './dedup-store.js';
import { KeyedLimiter } from './keyed-limiter.js';
import { toMessage } from './message.js';
import { Resequencer } from './resequencer.js';
import { decideRetry, type RetryPolicy } from './retry-policy.js';
import type { DeadLetterEvent, DeadLetterOptions, GapEvent, Handler, Message } from './types.js';

/** What the dispatcher needs from the consumer around it. */
export interface DispatcherOptions {
  readonly store: DedupStore;
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly gapTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly deadLetter: DeadLetterOptions;
  /** Backends by name, for dead-letter publishing. */
  readonly backend: (name: string) => Backend | undefined;
  readonly logger: Logger;
  readonly onError: (error: Error) => void;
  readonly onDeadLetter: (event: DeadLetterEvent) => void;
  readonly onGap: (event: GapEvent) => void;
}

interface Job {
  readonly delivery: Delivery;
  /** Settles with true once handled (or dead-lettered), false when left for redelivery. */
  readonly settle: (handled: boolean) => void;
}

/**
 * The path of every delivery, whichever backend it came from: inbox check (dedup by id), re-sequencing by
 * (topic, key, seq), the concurrency limit with one message per key at a time, the handler with in-process
 * retries, dead letters, and the inbox record once handled. `deliver` is the port's `onMessage`: it resolves
 * when the message may be acknowledged and rejects when the backend must deliver it again.
 *
 * Held messages (a later seq waiting for an earlier one) keep their `deliver` promise pending, so the backend
 * does not acknowledge them, and on Kafka their partition waits too (the port hands one message per
 * partition at a time): a gap stalls that partition for at most `gapTimeoutMs`.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #limiter: KeyedLimiter;
  readonly #reseq: Resequencer<Job>;
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #active = new Set<Promise<unknown>>();
  readonly #sleepers = new Set<() => void>();
  readonly #abort = new AbortController();
  #handler: Handler | undefined;
  #closing = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#limiter = new KeyedLimiter(options.concurrency);
    this.#reseq = new Resequencer<Job>({
      gapTimeoutMs: options.gapTimeoutMs,
      lastSeq: (topic, key) => options.store.lastSeq(topic, key),
      onReady: (entry) => this.#start(entry.value, true),
      onGap: (gap) => options.onGap(gap),
    });
  }

  setHandler(handler: Handler): void {
    this.#handler = handler;
  }

  /** Messages between intake and settlement (held, queued for a slot, or running). */
  get pending(): number {
    return this.#active.size;
  }

  /** The port's `onMessage`. */
  deliver = async (delivery: Delivery): Promise<void> => {
    const env = delivery.envelope;
    if (this.#closing) throw notHandled(delivery, 'the consumer is closing');
    if (this.#o.store.has(env.id)) return;
    // The same id from a second backend (mirror route, failover replay) while the first is in flight.
    const twin = this.#inFlight.get(env.id);
    if (twin) {
      if (await twin) return;
      throw notHandled(delivery, 'its twin from another backend was not handled');
    }
    let settle!: (handled: boolean) => void;
    const outcome = new Promise<boolean>((resolve) => (settle = resolve));
    this.#inFlight.set(env.id, outcome);
    this.#active.add(outcome);
    const job: Job = { delivery, settle };
    try {
      if (!this.#o.ordered || env.key === undefined) this.#start(job, false);
      else if (this.#reseq.offer({ topic: env.topic, key: env.key, seq: env.seq, value: job }) === 'stale') {
        // seq at or below the key's last handled one, yet an id the inbox does not know: a late message, not
        // a duplicate. Handled now rather than dropped.
        this.#start(job, false);
      }
      if (!(await outcome)) throw notHandled(delivery, 'not handled');
    } finally {
      this.#inFlight.delete(env.id);
      this.#active.delete(outcome);
    }
  };

  /** Gives back the held messages of revoked partitions, so the backend can hand them to their new owner. */
  revoke(backend: string, partitions: readonly TopicPartition[]): void {
    const revoked = new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    const released = this.#reseq.release(
      (e) =>
        e.value.delivery.backend === backend &&
        revoked.has(`${e.topic}\u0000${e.value.delivery.partition ?? -1}`),
    );
    for (const entry of released) entry.value.settle(false);
    // Another member may handle these keys' next messages now; a remembered last seq would turn the
    // messages after those into false gaps when the partitions come back.
    this.#o.store.forgetSeqs();
  }

  /** Stops intake: new deliveries are refused, held ones given back, retry waits cut short. */
  stopIntake(): void {
    this.#closing = true;
    for (const entry of this.#reseq.release(() => true)) entry.value.settle(false);
    for (const wake of this.#sleepers) wake();
  }

  /** Waits for every in-flight message to settle; false (and handlers' signal aborted) on timeout. */
  async drain(timeoutMs: number): Promise<boolean> {
    const settled = (async () => {
      while (this.#active.size > 0) await Promise.allSettled([...this.#active]);
    })();
    const drained = await settleWithin(settled, timeoutMs);
    if (!drained) this.#abort.abort(new MqgateError('MQGATE_ERR_DRAINING', 'consumer close timed out'));
    return drained;
  }

  #start(job: Job, sequenced: boolean): void {
    const env = job.delivery.envelope;
    this.#limiter
      .run(env.key, () => this.#execute(job))
      .catch((err: unknown) => {
        this.#o.onError(toMqgateError(err));
        return false;
      })
      .then((handled) => {
        if (sequenced && env.key !== undefined) this.#reseq.done(env.topic, env.key, env.seq, handled);
        job.settle(handled);
      });
  }

  async #execute(job: Job): Promise<boolean> {
    const handler = this.#handler;
    if (!handler) throw new MqgateError('MQGATE_ERR_INTERNAL', 'no handler set');
    for (let attempt = 1; ; attempt++) {
      if (this.#closing) return false;
      const message = toMessage(job.delivery, attempt);
      try {
        await handler(message, { signal: this.#abort.signal, logger: this.#o.logger });
      } catch (err) {
        const decision = decideRetry(this.#o.retry, err, attempt);
        if (decision.action === 'dead-letter') return this.#deadLetter(job, message, err);
        if (!(await this.#sleep(decision.delayMs))) return false;
        continue;
      }
      this.#record(job);
      return true;
    }
  }

  async #deadLetter(job: Job, message: Message, error: unknown): Promise<boolean> {
    const { delivery } = job;
    const context = {
      backend: delivery.backend,
      topic: message.topic,
      id: message.id,
      attempt: message.attempt,
    };
    if (this.#o.deadLetter === false) {
      // No dead-letter topic: the message stays unacknowledged and comes back later, never dropped.
      this.#o.onError(
        new MqgateError('MQGATE_ERR_ATTEMPTS_EXHAUSTED', `handler failed on ${message.id}`, {
          cause: error,
          context,
        }),
      );
      return false;
    }
    const topic = (this.#o.deadLetter.topic ?? defaultDeadLetterTopic)(message.topic);
    const backend = this.#o.backend(delivery.backend);
    try {
      if (!backend)
        throw new MqgateError('MQGATE_ERR_INTERNAL', `no backend ${delivery.backend}`, { context });
      await publishDeadLetter(backend, deadLetterEnvelope(delivery.envelope, topic, error));
    } catch (err) {
      this.#o.onError(toMqgateError(err));
      return false;
    }
    this.#record(job);
    this.#o.onDeadLetter({ message, error, topic });
    return true;
  }

  #record(job: Job): void {
    const env = job.delivery.envelope;
    try {
      this.#o.store.record({ id: env.id, topic: env.topic, key: env.key, seq: env.seq });
    } catch (err) {
      // The handler did its work: acknowledging is right; only the protection against a redelivery is lost.
      this.#o.onError(toMqgateError(err));
    }
  }

  /** Resolves true after `ms`, or false at once when intake stops. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.#sleepers.delete(wake);
        resolve(true);
      }, ms);
      this.#sleepers.add(wake);
    });
  }
}

function notHandled(delivery: Delivery, why: string): MqgateError {
  const { envelope: env, backend } = delivery;
  return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `message ${env.id} left for redelivery: ${why}`, {
    context: { backend, topic: env.topic, id: env.id },
    retriable: true,
  });
}
