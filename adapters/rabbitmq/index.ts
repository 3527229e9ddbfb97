import type { Logger } from 'pino';
import type { RabbitmqBackendConfig } from '../../src/config/types.js';
import { type Envelope, isValidTopic } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import type { SubscribableBackend, SubscribeRequest, Subscription } from '../../src/ports/subscriber.js';
import { type RabbitmqOptions, type ResolvedRabbitmqConfig, resolveConfig } from './config.js';
import { RabbitConnection } from './connection.js';
import { mapAmqpError } from './errors.js';
import { probe } from './health.js';
import { RabbitPublisher } from './publisher.js';
import { RabbitSubscription } from './subscriber.js';
import { declareTopic } from './topology.js';

export { type AmqpMessageLike, decode, encode, parseRoutingKey, routingKeyOf } from './codec.js';
export { DEFAULT_RABBITMQ_OPTIONS, type RabbitmqOptions } from './config.js';
export {
  declareGroupQueue,
  groupQueueName,
  parkingQueueName,
  queueArguments,
  topologyNames,
} from './topology.js';

/**
 * The RabbitMQ backend (amqplib 0.10): a durable topic exchange, routing key `<topic>.<partition>`,
 * persistent messages on a publisher confirm channel, and per-partition parking queues behind an alternate
 * exchange so that nothing published before a consumer group exists is lost. See README.md.
 *
 * - `publish()` resolves once every message is confirmed by the broker (after a quorum queue has it on a
 *   majority of nodes, or a classic durable queue has it on disk), or failed; it never rejects. Messages with
 *   the same key keep their order: a batch goes out in order on one channel.
 * - `connect()` tries the URLs in order, each bounded by `connectTimeoutMs`; after a connection loss the next
 *   `publish()`, `probe()` or `ensureTopic()` reconnects.
 * - `close()` is idempotent and safe before or while connecting; unconfirmed messages fail, retriable.
 */
export class RabbitmqBackend implements SubscribableBackend {
  readonly name: string;
  readonly type = 'rabbitmq';
  readonly #config: ResolvedRabbitmqConfig;
  readonly #connection: RabbitConnection;
  readonly #publisher: RabbitPublisher;
  readonly #log: Logger;
  readonly #subscriptions = new Set<RabbitSubscription>();

  constructor(config: RabbitmqBackendConfig, logger: Logger, options: Partial<RabbitmqOptions> = {}) {
    this.name = config.name;
    this.#log = logger;
    this.#config = resolveConfig(config, options);
    this.#connection = new RabbitConnection(this.#config, logger);
    this.#publisher = new RabbitPublisher(
      this.#config,
      this.#connection,
      (topic) => this.#declareTopic(topic),
      logger,
    );
  }

  /** Connects (or reuses the live connection). Rejects with an MqgateError when no URL answers in time. */
  async connect(): Promise<void> {
    await this.#connection.open();
  }

  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close(options)));
    await this.#connection.close(options.timeoutMs);
  }

  /**
   * Joins a consumer group over the topics' group queues (see README.md, "Consumer groups"), on a
   * connection of its own; resolves once the member made its first assignment.
   */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    const subscription = new RabbitSubscription(request, this.#config, this.#log);
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      this.#subscriptions.delete(subscription);
      await subscription.close();
      throw mapAmqpError(err, { backend: this.name }, 'joining the group');
    }
    return {
      close: async (options) => {
        await subscription.close(options);
        this.#subscriptions.delete(subscription);
      },
    };
  }

  async publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    if (batch.length === 0) return [];
    return this.#publisher.publish(batch);
  }

  probe(): Promise<void> {
    return probe(this.#connection, this.#config);
  }

  /** Declares the topic's parking queue for each partition (see README.md). Idempotent. */
  async ensureTopic(topic: string): Promise<void> {
    if (!isValidTopic(topic)) {
      throw new MqgateError('MQGATE_ERR_INVALID_TOPIC', `invalid topic ${JSON.stringify(topic)}`, {
        context: { backend: this.name, topic },
      });
    }
    const session = this.#connection.session ?? (await this.#connection.open());
    if (!session.ensured.has(topic)) await this.#declareTopic(topic);
  }

  /** Declares on the live connection and remembers it there: a new connection declares again. */
  async #declareTopic(topic: string): Promise<void> {
    await this.#connection.withChannel(
      `declaring topic ${topic}`,
      async (channel, session) => {
        await declareTopic(channel, this.#config, topic);
        session.ensured.add(topic);
      },
      this.#config.options.topologyTimeoutMs,
    );
  }
}
