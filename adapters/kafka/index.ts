import type { Admin, Kafka } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { Backend, PublishOutcome } from '../../src/ports/backend.js';
import type { SubscribableBackend, SubscribeRequest, Subscription } from '../../src/ports/subscriber.js';
import { settleWithin } from '../../src/with-timeout.js';
import { KAFKA_RETRY, kafkaClientConfig } from './config.js';
import { toKafkaError } from './errors.js';
import { probeCluster } from './health.js';
import { ProducerSlot } from './producer-slot.js';
import { KafkaPublisher } from './publisher.js';
import { subscribeKafka } from './subscriber.js';
import { TopicRegistry } from './topics.js';

export { decodeRecord, encodeRecord } from './codec.js';

/**
 * The Kafka backend (kafkajs): a producer with acks=-1 (not kafkajs' idempotent mode: see README), topics created with the configured
 * partitions and replication factor, and a kafkajs admin client for topic creation and probes.
 *
 * Every call is bounded: `connect()` gives up after kafkajs' few quick retries (about 3 s per broker
 * attempt at worst), `publish()` answers within about 9 s, `probe()` within 2 s. `subscribe()` joins a
 * native consumer group (subscriber.ts). A producer that lost its
 * broker reconnects on the next publish. `close()` is idempotent and safe before or during `connect()`.
 */
export class KafkaBackend implements Backend, SubscribableBackend {
  readonly name: string;
  readonly type = 'kafka';
  readonly #kafka: Kafka;
  readonly #config: KafkaBackendConfig;
  readonly #logger: Logger;
  readonly #slot: ProducerSlot;
  readonly #topics: TopicRegistry;
  readonly #publisher: KafkaPublisher;
  #admin: Promise<Admin> | undefined;
  #closing: Promise<void> | undefined;

  constructor(config: KafkaBackendConfig, logger: Logger) {
    this.name = config.name;
    this.#config = config;
    this.#logger = logger;
    this.#kafka = new kafkajs.Kafka(kafkaClientConfig(config, logger));
    this.#slot = new ProducerSlot(this.#kafka, logger);
    this.#topics = new TopicRegistry(config, () => this.#connectedAdmin(), logger);
    this.#publisher = new KafkaPublisher(this.name, this.#slot, (topic) => this.#topics.ensure(topic));
  }

  /** Connects the admin client and the producer; rejects with a retriable MqgateError when no broker answers. */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.#connectedAdmin(), this.#slot.acquire()]);
    } catch (err) {
      throw toKafkaError(err, { backend: this.name }, 'connecting to kafka');
    }
  }

  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close();
    const timeoutMs = options.timeoutMs ?? 5_000;
    if (!(await settleWithin(this.#closing, timeoutMs))) {
      this.#logger.warn({ timeoutMs }, 'kafka clients still disconnecting after the close timeout');
    }
  }

  publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    if (batch.length === 0) return Promise.resolve([]);
    return this.#publisher.publish(batch);
  }

  probe(): Promise<void> {
    return probeCluster(() => this.#connectedAdmin(), this.name);
  }

  async ensureTopic(topic: string): Promise<void> {
    await this.#topics.ensure(topic);
  }

  /** Joins the group `mqgate.<group>`; the topics are created first, so a group may start before a publish. */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    await Promise.all(request.topics.map((t) => this.ensureTopic(t)));
    return subscribeKafka(this.#kafka, this.#config, request, this.#logger);
  }

  async #close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await Promise.all([
      this.#slot.close(),
      admin
        ?.catch(() => undefined)
        .then((a) => a?.disconnect())
        .catch((err: unknown) => this.#logger.debug({ err: String(err) }, 'kafka admin disconnect failed')),
    ]);
  }

  /** The connected admin client, connecting it on first use and again after a failed connect. */
  #connectedAdmin(): Promise<Admin> {
    if (this.#closing) {
      return Promise.reject(
        new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'kafka backend is closed', {
          context: { backend: this.name },
          retriable: true,
        }),
      );
    }
    if (!this.#admin) {
      const admin = this.#kafka.admin({ retry: KAFKA_RETRY });
      const ready = admin.connect().then(() => admin);
      this.#admin = ready;
      ready.catch(() => {
        if (this.#admin === ready) this.#admin = undefined;
        admin.disconnect().catch(() => undefined);
      });
    }
    return this.#admin;
  }
}
