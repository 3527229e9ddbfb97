import type { Logger } from 'pino';
import type { Config, SubscriptionConfig } from '../config/types.js';
import { Consumer } from '../sdk/consumer.js';
import type { DeadLetterOptions } from '../sdk/types.js';
import { pushHandler } from './push-handler.js';

/**
 * One running push subscription: an SDK Consumer in the subscription's group whose handler POSTs each
 * message to the endpoint. Gateway replicas running the same subscription are members of one group and
 * share the partitions; an acknowledged message is not handed to another member (the SDK's contract).
 */
export class PushSubscription {
  readonly spec: SubscriptionConfig;
  readonly #consumer: Consumer;
  readonly #stop = new AbortController();
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  constructor(spec: SubscriptionConfig, config: Config, logger: Logger) {
    this.spec = spec;
    this.#logger = logger.child({ subscription: spec.name });
    const deadLetter: DeadLetterOptions =
      spec.deadLetter === false
        ? false
        : typeof spec.deadLetter === 'string'
          ? { topic: () => spec.deadLetter as string }
          : {};
    this.#consumer = new Consumer({
      config,
      group: spec.group,
      topics: spec.topics,
      concurrency: spec.concurrency,
      ordered: spec.ordered,
      retry: spec.retry,
      deadLetter,
      logger: this.#logger,
    });
    this.#consumer.on('error', (err) => this.#logger.warn({ err }, 'push subscription error'));
    this.#consumer.on('dead-letter', ({ message, error, topic }) =>
      this.#logger.warn({ id: message.id, topic, err: error }, 'message dead-lettered'),
    );
  }

  /** Resolves once every backend made its first subscribe attempt (down ones are retried in the background). */
  start(): Promise<void> {
    return this.#consumer.run(pushHandler(this.spec, this.#stop.signal, this.#logger));
  }

  /** Aborts requests and Retry-After waits in flight (those messages come back later), leaves the group. */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      await this.#consumer.close(options);
    })();
    return this.#closing;
  }
}
