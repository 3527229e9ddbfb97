import type { Admin } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import { MqgateError } from '../../src/errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, KAFKA_TIMEOUTS } from './config.js';
import { toKafkaError } from './errors.js';

/** What the publisher needs to know about a topic. */
export interface TopicInfo {
  /** Partitions messages spread over with `partitionOf` (the configured count, or fewer if the topic has). */
  readonly partitions: number;
  /** The topic's `max.message.bytes`: the largest record batch the broker takes. */
  readonly maxBatchBytes: number;
}

/**
 * Creates topics on first use and remembers them. `ensure()` is idempotent and safe to call concurrently:
 * callers of the same topic share one creation, TOPIC_ALREADY_EXISTS (another gateway won the race) counts
 * as success, and a failure is forgotten so the next call tries again.
 */
export class TopicRegistry {
  readonly #known = new Map<string, Promise<TopicInfo>>();

  constructor(
    private readonly config: KafkaBackendConfig,
    private readonly admin: () => Promise<Admin>,
    private readonly logger: Logger,
  ) {}

  ensure(topic: string): Promise<TopicInfo> {
    let info = this.#known.get(topic);
    if (!info) {
      info = this.#create(topic);
      this.#known.set(topic, info);
      info.catch(() => this.#known.delete(topic));
    }
    return info;
  }

  /** Forgets a topic (deleted behind the gateway's back); the next `ensure()` checks the broker again. */
  forget(topic: string): void {
    this.#known.delete(topic);
  }

  async #create(topic: string): Promise<TopicInfo> {
    const context = { backend: this.config.name, topic };
    try {
      const admin = await this.admin();
      const rf = this.config.replicationFactor;
      // With RF >= 3 a write needs RF-1 replicas: one broker may be down and acked data still survives one
      // more loss. Below 3 that would mean a single copy, so the broker default stays.
      const configEntries = rf >= 3 ? [{ name: 'min.insync.replicas', value: String(rf - 1) }] : [];
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: this.config.partitions, replicationFactor: rf, configEntries }],
        waitForLeaders: true,
        timeout: KAFKA_TIMEOUTS.createTopicMs,
      });
      // kafkajs returns false on TOPIC_ALREADY_EXISTS without waiting for leaders: a concurrent creator
      // may still be electing them, so wait here as well.
      const actual = created
        ? await this.#partitionCount(admin, topic)
        : await this.#awaitLeaders(admin, topic);
      if (actual < this.config.partitions) {
        this.logger.warn(
          { topic, partitions: actual, configured: this.config.partitions },
          'existing topic has fewer partitions than configured; keys spread over the ones it has',
        );
      }
      const maxBatchBytes = await this.#maxMessageBytes(admin, topic);
      return { partitions: Math.min(actual, this.config.partitions), maxBatchBytes };
    } catch (err) {
      throw toKafkaError(err, context, `creating topic ${topic}`);
    }
  }

  async #partitionCount(admin: Admin, topic: string): Promise<number> {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  }

  async #awaitLeaders(admin: Admin, topic: string): Promise<number> {
    const deadline = Date.now() + KAFKA_TIMEOUTS.createTopicMs;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return partitions.length;
      } catch (err) {
        // LEADER_NOT_AVAILABLE and UNKNOWN_TOPIC_OR_PARTITION while the creation propagates: poll again.
        if (!(err instanceof kafkajs.KafkaJSError) || !err.retriable) throw err;
      }
      if (Date.now() > deadline) {
        throw new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', `topic ${topic} has no leaders yet`, {
          context: { backend: this.config.name, topic },
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #maxMessageBytes(admin: Admin, topic: string): Promise<number> {
    try {
      const res = await admin.describeConfigs({
        resources: [
          { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
        ],
        includeSynonyms: false,
      });
      const value = Number(res.resources[0]?.configEntries[0]?.configValue);
      return Number.isSafeInteger(value) && value > 0 ? value : DEFAULT_MAX_MESSAGE_BYTES;
    } catch (err) {
      // Only a batching hint: without it the broker's default applies, and a batch the broker still
      // refuses as too large is split by the publisher.
      this.logger.warn({ topic, err: String(err) }, 'could not read max.message.bytes; assuming the default');
      return DEFAULT_MAX_MESSAGE_BYTES;
    }
  }
}
