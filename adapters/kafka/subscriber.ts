import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import type { SubscribeRequest, Subscription, TopicPartition } from '../../src/ports/subscriber.js';
import { settleWithin } from '../../src/with-timeout.js';
import { decodeRecord } from './codec.js';
import { KAFKA_RETRY } from './config.js';
import { toKafkaError } from './errors.js';

/** Defaults of a Kafka group member. */
export const KAFKA_GROUP = {
  sessionTimeoutMs: 10_000,
  /** Wait before a rejected message is fetched again (doubling per failure of the partition, capped). */
  redeliveryInitialMs: 500,
  redeliveryMaxMs: 10_000,
  closeTimeoutMs: 10_000,
} as const;

/** kafkajs' group id for an mqgate group: the prefix keeps them apart from other apps' groups. */
export const kafkaGroupId = (group: string): string => `mqgate.${group}`;

/**
 * A member of a Kafka consumer group (kafkajs, the broker's own group protocol), as the Subscriber port asks:
 * - new groups start at the beginning of each topic (a late group sees what was published before it);
 * - partitions run concurrently, one message at a time each; offsets are committed explicitly (autoCommit
 *   off), and only past messages whose `onMessage` resolved. kafkajs' autoCommit would commit the offset of a
 *   message it resolves after a failed handler once we seek back, so it is not used;
 * - a rejected `onMessage`: after a growing pause the partition seeks back to that offset, so the message
 *   comes again before later ones (throwing into kafkajs instead would crash and restart the whole consumer,
 *   which rejoins the group);
 * - a timer calls `heartbeat()` while a handler runs, so a long handler does not cost the membership;
 * - kafkajs' REBALANCING event maps to `onRevoke` of everything owned (Kafka's eager protocol revokes all),
 *   GROUP_JOIN to `onAssign` of what was not owned before.
 */
export async function subscribeKafka(
  kafka: Kafka,
  config: KafkaBackendConfig,
  request: SubscribeRequest,
  logger: Logger,
): Promise<Subscription> {
  const sub = new KafkaSubscription(kafka, config, request, logger);
  await sub.start();
  return sub;
}

class KafkaSubscription implements Subscription {
  readonly #consumer: Consumer;
  readonly #request: SubscribeRequest;
  readonly #config: KafkaBackendConfig;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  /** Partitions owned now, as `topic\0partition`. */
  #owned = new Map<string, TopicPartition>();
  /** Consecutive failures per partition, for the redelivery pause. */
  readonly #failures = new Map<string, number>();
  #closing: Promise<void> | undefined;

  constructor(kafka: Kafka, config: KafkaBackendConfig, request: SubscribeRequest, logger: Logger) {
    this.#request = request;
    this.#config = config;
    this.#logger = logger;
    const sessionTimeout = request.sessionTimeoutMs ?? KAFKA_GROUP.sessionTimeoutMs;
    // Kafka's advice: heartbeat at most a third of the session timeout.
    this.#heartbeatMs = Math.min(3_000, Math.floor(sessionTimeout / 3));
    this.#consumer = kafka.consumer({
      groupId: kafkaGroupId(request.group),
      sessionTimeout,
      heartbeatInterval: this.#heartbeatMs,
      allowAutoTopicCreation: false,
      retry: KAFKA_RETRY,
    });
    const { GROUP_JOIN, REBALANCING, CRASH } = this.#consumer.events;
    this.#consumer.on(REBALANCING, () => this.#revokeAll());
    this.#consumer.on(GROUP_JOIN, ({ payload }) => this.#joined(payload.memberAssignment));
    this.#consumer.on(CRASH, ({ payload }) => {
      if (!payload.restart) this.#report(payload.error, 'kafka consumer crashed and will not restart');
    });
  }

  async start(): Promise<void> {
    try {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics: [...this.#request.topics], fromBeginning: true });
      await this.#consumer.run({
        autoCommit: false,
        // Every partition a member may own (all of them, alone in the group) can run at once.
        partitionsConsumedConcurrently: Math.max(1, this.#config.partitions * this.#request.topics.length),
        eachMessage: (payload) => this.#eachMessage(payload),
      });
    } catch (err) {
      await this.#consumer.disconnect().catch(() => undefined);
      throw toKafkaError(err, { backend: this.#config.name }, 'joining the kafka consumer group');
    }
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? KAFKA_GROUP.closeTimeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    // disconnect(): stops fetching, waits for running eachMessage calls, leaves the group, closes sockets.
    const leaving = this.#consumer
      .disconnect()
      .catch((err: unknown) => this.#report(err, 'leaving the kafka consumer group'))
      .then(() => this.#revokeAll());
    if (!(await settleWithin(leaving, timeoutMs))) {
      this.#logger.warn({ timeoutMs }, 'kafka consumer still leaving the group after the close timeout');
    }
  }

  async #eachMessage({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const tp = `${topic}\u0000${partition}`;
    let envelope: ReturnType<typeof decodeRecord>;
    try {
      envelope = decodeRecord({ topic, key: message.key, value: message.value, headers: message.headers });
    } catch (err) {
      // Not an mqgate record (another producer wrote to the topic): reported, then passed over so it does
      // not block the partition forever.
      this.#report(err, `skipping a record that is not an mqgate message at offset ${message.offset}`);
      await this.#commit(topic, partition, message.offset);
      return;
    }
    const beat = setInterval(() => {
      heartbeat().catch(() => undefined); // a rebalance shows up in kafkajs' own loop after this message
    }, this.#heartbeatMs);
    let handled = true;
    try {
      await this.#request.onMessage({
        envelope,
        backend: this.#config.name,
        partition,
        offset: message.offset,
      });
    } catch {
      handled = false;
    } finally {
      clearInterval(beat);
    }
    if (handled) {
      this.#failures.delete(tp);
      await this.#commit(topic, partition, message.offset);
      return;
    }
    const failures = (this.#failures.get(tp) ?? 0) + 1;
    this.#failures.set(tp, failures);
    if (!this.#closing) {
      const ms = Math.min(KAFKA_GROUP.redeliveryMaxMs, KAFKA_GROUP.redeliveryInitialMs * 2 ** (failures - 1));
      await this.#pause(ms, heartbeat);
    }
    // With autoCommit off, seek only moves the fetch position: nothing is committed past this message, and
    // kafkajs drops the rest of the batch (it checks for a pending seek before each message).
    try {
      this.#consumer.seek({ topic, partition, offset: message.offset });
    } catch (err) {
      // Only when the consumer is stopping: nothing was committed past the message, the next owner gets it.
      this.#report(err, `seeking back to offset ${message.offset} of ${topic}/${partition}`);
    }
  }

  async #commit(topic: string, partition: number, offset: string): Promise<void> {
    try {
      await this.#consumer.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }]);
    } catch (err) {
      // A rebalance took the partition (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS): the new owner gets the
      // message again; the inbox of a shared dedup store recognises it.
      this.#report(err, `committing offset ${offset} of ${topic}/${partition}`);
    }
  }

  #pause(ms: number, heartbeat: () => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const beat = setInterval(() => heartbeat().catch(() => undefined), this.#heartbeatMs);
      setTimeout(() => {
        clearInterval(beat);
        resolve();
      }, ms);
    });
  }

  #revokeAll(): void {
    const revoked = [...this.#owned.values()];
    this.#owned = new Map();
    if (revoked.length > 0) void this.#callback(() => this.#request.onRevoke?.(revoked));
  }

  #joined(assignment: Record<string, number[]>): void {
    const now = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) now.set(`${topic}\u0000${partition}`, { topic, partition });
    }
    const revoked = [...this.#owned].filter(([k]) => !now.has(k)).map(([, tp]) => tp);
    const assigned = [...now].filter(([k]) => !this.#owned.has(k)).map(([, tp]) => tp);
    this.#owned = now;
    if (revoked.length > 0) void this.#callback(() => this.#request.onRevoke?.(revoked));
    if (assigned.length > 0) void this.#callback(() => this.#request.onAssign?.(assigned));
  }

  async #callback(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#report(err, 'rebalance callback failed');
    }
  }

  #report(err: unknown, action: string): void {
    const error = toKafkaError(err, { backend: this.#config.name }, action);
    this.#logger.debug({ err: error.message }, action);
    this.#request.onError?.(error);
  }
}
