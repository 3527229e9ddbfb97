import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import { DEFAULT_GROUP_TIMING, type GroupTiming } from '../../src/groups/timing.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import type { ClaimRequest, LeasedMessage, LeasingBackend, SettleOutcome } from '../../src/ports/lease.js';
import type { SubscribableBackend, SubscribeRequest, Subscription } from '../../src/ports/subscriber.js';
import { DEFAULT_TUNING, describeConnection, type RedisClientTuning, redisOptions } from './config.js';
import { mapRedisError } from './errors.js';
import { PROBE_TIMEOUT_MS, probeRedis } from './health.js';
import { claimEntries, settleEntries } from './leases.js';
import { publishBatch } from './publisher.js';
import { RedisSubscription } from './subscriber.js';

export { decodeEntry, encodeEntry } from './codec.js';
export { streamKey, streamKeys } from './keys.js';

/** Bound on `close()` waiting for QUIT before the socket is dropped. */
const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/**
 * The `redis` backend: Redis streams, one per topic partition (`mqgate:{<topic>:<p>}`), written with XADD.
 * See adapters/redis/README.md for the config table and the durability and failover notes.
 *
 * - `connect()` resolves when Redis (the master, through Sentinel) answers, or rejects within about
 *   `connectTimeoutMs`; it may be called again after a failure. Once connected, the client reconnects by
 *   itself after a drop or a Sentinel failover.
 * - `publish()` never waits for a connection: while Redis is unreachable every message fails at once with
 *   a retriable error.
 * - `close()` is idempotent and safe before or during `connect()`.
 */
export class RedisBackend implements SubscribableBackend, LeasingBackend {
  readonly name: string;
  readonly type = 'redis' as const;
  readonly #config: RedisBackendConfig;
  readonly #log: Logger;
  readonly #tuning: RedisClientTuning;
  readonly #topics = new Set<string>();
  #client: Redis | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #groupTiming: GroupTiming;
  readonly #subscriptions = new Set<RedisSubscription>();

  constructor(
    config: RedisBackendConfig,
    logger: Logger,
    tuning: RedisClientTuning = DEFAULT_TUNING,
    groupTiming: Partial<GroupTiming> = {},
  ) {
    this.name = config.name;
    this.#config = config;
    this.#log = logger;
    this.#tuning = tuning;
    this.#groupTiming = { ...DEFAULT_GROUP_TIMING, ...groupTiming };
  }

  /**
   * Joins a consumer group over the topics' streams (see README.md, "Consumer groups"): resolves once the
   * member's first heartbeat and assignment are done. Uses connections of its own, not the publisher's.
   */
  async subscribe(request: SubscribeRequest): Promise<Subscription> {
    if (this.#closing !== undefined) throw this.#closedError();
    const subscription = new RedisSubscription(request, this.#config, this.#groupTiming);
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (err) {
      this.#subscriptions.delete(subscription);
      await subscription.close();
      throw mapRedisError(err, { backend: this.name });
    }
    const close = subscription.close.bind(subscription);
    return {
      close: async (options) => {
        await close(options);
        this.#subscriptions.delete(subscription);
      },
    };
  }

  /** Pull with leases (see src/ports/lease.ts and adapters/redis/lease-scripts.ts). */
  claim(request: ClaimRequest): Promise<LeasedMessage[]> {
    return claimEntries(this.#ready(), this.#config.partitions, request, this.name);
  }

  ack(group: string, topic: string, tokens: readonly string[]): Promise<SettleOutcome[]> {
    const target = { group, topic, backend: this.name };
    return settleEntries(this.#ready(), this.#config.partitions, target, tokens, 'ack', 0);
  }

  release(
    group: string,
    topic: string,
    tokens: readonly string[],
    delayMs: number,
  ): Promise<SettleOutcome[]> {
    const target = { group, topic, backend: this.name };
    return settleEntries(this.#ready(), this.#config.partitions, target, tokens, 'release', delayMs);
  }

  #ready(): Redis {
    if (this.#closing !== undefined) throw this.#closedError();
    if (this.#client === undefined) throw this.#notConnectedError();
    return this.#client;
  }

  connect(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(this.#closedError());
    if (this.#client?.status === 'ready') return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    // A client that never got ready is dropped; a fresh one makes each connect() a bounded, clean attempt.
    this.#client?.disconnect();
    const { url, options } = redisOptions(this.#config.connection, `mqgate:${this.name}`, this.#tuning);
    const client = url === undefined ? new Redis(options) : new Redis(url, options);
    this.#client = client;
    this.#watch(client);
    // ioredis rejects connect() with a bare "Connection is closed."; the 'error' before it says why.
    let reason: unknown;
    const remember = (err: unknown) => {
      reason = err;
    };
    client.on('error', remember);
    // Sentinel may try several sentinels, each bounded by connectTimeout; bound the whole attempt too.
    const boundMs = this.#tuning.connectTimeoutMs * 2;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', `redis connect took over ${boundMs}ms`)),
            boundMs,
          );
        }),
      ]);
      this.#log.info({ redis: describeConnection(this.#config.connection) }, 'redis connected');
    } catch (err) {
      client.disconnect();
      if (this.#client === client) this.#client = undefined;
      throw mapRedisError(err instanceof MqgateError ? err : (reason ?? err), { backend: this.name });
    } finally {
      clearTimeout(timer);
      client.off('error', remember);
    }
    if (this.#closing !== undefined) {
      client.disconnect();
      throw this.#closedError();
    }
  }

  #watch(client: Redis): void {
    let wasReady = false;
    // ioredis emits 'error' on every failed reconnect; the outcomes reach the relay through publish and probe,
    // so the log only records transitions.
    client.on('error', (err: Error) => this.#log.debug({ err: err.message }, 'redis client error'));
    client.on('ready', () => {
      if (wasReady) this.#log.info('redis reconnected');
      wasReady = true;
    });
    client.on('close', () => {
      if (wasReady && this.#closing === undefined) this.#log.warn('redis connection lost; reconnecting');
    });
  }

  publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    const client = this.#client;
    if (client === undefined || this.#closing !== undefined) {
      const error = this.#closing !== undefined ? this.#closedError() : this.#notConnectedError();
      return Promise.resolve(batch.map(() => ({ ok: false as const, error })));
    }
    return publishBatch(client, batch, {
      backend: this.name,
      partitions: this.#config.partitions,
      maxLen: this.#config.maxLen,
      waitReplicas: this.#config.waitReplicas,
      waitTimeoutMs: this.#config.waitTimeoutMs,
    });
  }

  async probe(): Promise<void> {
    const client = this.#client;
    if (client === undefined) throw this.#notConnectedError();
    await probeRedis(client, PROBE_TIMEOUT_MS);
  }

  /**
   * Records the topic and returns: nothing has to exist before XADD, which creates the stream, and consumer
   * groups are created by their consumers (`XGROUP CREATE ... MKSTREAM`), because a group made here would
   * not know where its members want to start. So this is cheap, needs no round trip, and is idempotent.
   */
  async ensureTopic(topic: string): Promise<void> {
    this.#topics.add(topic);
  }

  /** Topics seen by `ensureTopic`, in first-seen order. */
  knownTopics(): readonly string[] {
    return [...this.#topics];
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close({ timeoutMs })));
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      // QUIT lets replies in flight arrive first; the timer bounds it when Redis has gone silent.
      await Promise.race([
        client.quit(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
    } catch {
      // The socket is going away either way.
    } finally {
      clearTimeout(timer);
      client.disconnect();
    }
    this.#log.info('redis closed');
  }

  #notConnectedError(): MqgateError {
    return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'redis backend is not connected', {
      context: { backend: this.name },
    });
  }

  #closedError(): MqgateError {
    return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', 'redis backend is closed', {
      context: { backend: this.name },
      retriable: true,
    });
  }
}
