import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import type { SubscribeRequest, Subscription, TopicPartition } from '../../src/ports/subscriber.js';
import { settleWithin } from '../../src/with-timeout.js';
import { decodeRecord } from './codec.js';
import { KAFKA_RETRY } from './config.js';
import { isGroupRebalance, toKafkaError } from './errors.js';

/** Defaults of a Kafka group member. */
export const KAFKA_GROUP = {
  sessionTimeoutMs: 10_000,
  /** Wait before a rejected message is fetched again (doubling per failure of the partition, capped). */
  redeliveryInitialMs: 500,
  redeliveryMaxMs: 10_000,
  closeTimeoutMs: 10_000,
  /** Commit what was handled at least this often within a long batch (kafkajs also commits after each batch). */
  commitIntervalMs: 1_000,
} as const;

/** kafkajs' group id for an mqgate group: the prefix keeps them apart from other apps' groups. */
export const kafkaGroupId = (group: string): string => `mqgate.${group}`;

/**
 * A member of a Kafka consumer group (kafkajs, the broker's own group protocol), as the Subscriber port asks:
 * - new groups start at the beginning of each topic (a late group sees what was published before it);
 * - partitions run concurrently, one message at a time each (kafkajs `eachBatch`, walked in order);
 * - an offset is resolved (kafkajs' local mark, which is also where the next fetch starts) only once its
 *   `onMessage` resolved, and never past a message that was not handled: offsets are committed in batches,
 *   not per message (kafkajs' autoCommit: after each fetched batch, every `commitIntervalMs` within a long one,
 *   before rejoining on a rebalance, and when the member stops). A crash re-delivers what was handled but not
 *   yet committed, at most one batch or `commitIntervalMs` per partition; the SDK's inbox drops those repeats;
 * - a rejected `onMessage`: the partition waits (growing pause, with heartbeats), then the rest of the batch
 *   is left unresolved, so the next fetch starts again at that message (throwing into kafkajs instead would
 *   crash and restart the whole consumer, which rejoins the group);
 * - a timer calls `heartbeat()` while a batch runs, so a long handler does not cost the membership; when the
 *   heartbeat reports a rebalance, the batch stops after the running message and kafkajs commits and rejoins;
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
  /** Wakes the redelivery pauses when the member closes. */
  readonly #sleepers = new Set<() => void>();
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
        // kafkajs commits what was resolved: after each batch, on the interval below, before a rejoin, and
        // when a batch throws. Only `#eachBatch` resolves offsets (eachBatchAutoResolve off), and it never
        // resolves past a message whose onMessage did not resolve; it never seeks (a seek with autoCommit
        // commits the sought offset).
        autoCommit: true,
        autoCommitInterval: KAFKA_GROUP.commitIntervalMs,
        eachBatchAutoResolve: false,
        // Every partition a member may own (all of them, alone in the group) can run at once.
        partitionsConsumedConcurrently: Math.max(1, this.#config.partitions * this.#request.topics.length),
        eachBatch: (payload) => this.#eachBatch(payload),
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
    for (const wake of this.#sleepers) wake();
    // disconnect(): stops fetching, waits for running batches (each stops after its running message and
    // kafkajs commits what they resolved), leaves the group, closes sockets.
    const leaving = this.#consumer
      .disconnect()
      .catch((err: unknown) => this.#report(err, 'leaving the kafka consumer group'))
      .then(() => this.#revokeAll());
    if (!(await settleWithin(leaving, timeoutMs))) {
      this.#logger.warn({ timeoutMs }, 'kafka consumer still leaving the group after the close timeout');
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, commitOffsetsIfNecessary } = payload;
    const { topic, partition } = batch;
    // One timer per batch keeps the membership while handlers run; kafkajs' heartbeat sends at most one
    // request per heartbeat interval. A rebalance: stop after the running message and rethrow it, so kafkajs
    // commits what was resolved (it already did so inside heartbeat()) and rejoins.
    let lost: unknown;
    const beat = setInterval(() => {
      heartbeat().catch((err: unknown) => {
        // Other failures (a broker restarting) are kafkajs' own loop's to retry after the batch.
        if (isGroupRebalance(err)) lost ??= err;
      });
    }, this.#heartbeatMs);
    let nextCommitCheck = performance.now() + KAFKA_GROUP.commitIntervalMs;
    // The offset of the last message handled and not yet resolved. Resolving costs kafkajs a Long parse per
    // call, so it happens before anything that reads the resolved offsets (a commit, a pause, the end of
    // the batch, a rethrown rebalance), not after every message.
    let handled: string | undefined;
    const resolveHandled = () => {
      if (handled !== undefined) resolveOffset(handled);
      handled = undefined;
    };
    try {
      for (const message of batch.messages) {
        if (!isRunning() || this.#closing || lost !== undefined) break;
        const envelope = this.#decode(topic, message);
        if (envelope !== undefined) {
          try {
            await this.#request.onMessage({
              envelope,
              backend: this.#config.name,
              partition,
              offset: message.offset,
            });
          } catch {
            resolveHandled();
            await this.#redeliveryPause(topic, partition, () => lost !== undefined);
            // The rest of the batch stays unresolved: the next fetch of the partition starts at this message.
            break;
          }
          if (this.#failures.size > 0) this.#failures.delete(`${topic}\u0000${partition}`);
        }
        handled = message.offset;
        // kafkajs commits after the batch; within a long one, every commitIntervalMs (checked here rather
        // than by kafkajs on each message, which costs two promise hops per message).
        if (performance.now() >= nextCommitCheck) {
          nextCommitCheck = performance.now() + KAFKA_GROUP.commitIntervalMs;
          resolveHandled();
          await commitOffsetsIfNecessary();
        }
      }
    } finally {
      clearInterval(beat);
      resolveHandled();
    }
    if (lost !== undefined) throw lost;
  }

  /**
   * The envelope of a record, or undefined for a record that is not an mqgate message (another producer wrote
   * to the topic): reported, then passed over so it does not block the partition forever.
   */
  #decode(topic: string, message: KafkaMessage): Envelope | undefined {
    try {
      return decodeRecord({ topic, key: message.key, value: message.value, headers: message.headers });
    } catch (err) {
      this.#report(err, `skipping a record that is not an mqgate message at offset ${message.offset}`);
      return undefined;
    }
  }

  /** Waits before a rejected message is fetched again: doubling per consecutive failure, cut short on close. */
  async #redeliveryPause(topic: string, partition: number, stop: () => boolean): Promise<void> {
    const tp = `${topic}\u0000${partition}`;
    const failures = (this.#failures.get(tp) ?? 0) + 1;
    this.#failures.set(tp, failures);
    if (this.#closing) return;
    const ms = Math.min(KAFKA_GROUP.redeliveryMaxMs, KAFKA_GROUP.redeliveryInitialMs * 2 ** (failures - 1));
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        clearInterval(watch);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // The batch's heartbeat timer runs meanwhile; a rebalance ends the pause early.
      const watch = setInterval(() => stop() && wake(), 100);
      this.#sleepers.add(wake);
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
