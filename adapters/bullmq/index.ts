import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { BullmqBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome, SchedulingBackend } from '../../src/ports/backend.js';
import { CONNECT_TIMEOUT_MS, DEFAULT_PREFIX, producerOptions } from './config.js';
import { mapBullmqError } from './errors.js';
import { PROBE_TIMEOUT_MS, probeConnection } from './health.js';
import { addToQueue } from './publisher.js';

export { type BullmqJobData, decodeJobData, jobIdOf, messageIdOf } from './codec.js';
export { DELAY_HEADER, PRIORITY_HEADER } from './publisher.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/**
 * The `bullmq` backend: point-to-point work queues. Queue = topic (under `prefix`, default `bull`), job
 * name = envelope type, job id = envelope id (see `jobIdOf`), job data = the envelope (`BullmqJobData`).
 * Headers `delay-ms` and `priority` schedule the job. See adapters/bullmq/README.md.
 *
 * Same lifecycle contract as every backend: `connect()` is bounded and may be retried, `publish()` never
 * rejects and fails fast while Redis is down, `close()` is idempotent and safe before `connect()`.
 */
export class BullmqBackend implements SchedulingBackend {
  readonly name: string;
  readonly type = 'bullmq' as const;
  readonly features = { delay: true, priority: true } as const;
  readonly #config: BullmqBackendConfig;
  readonly #log: Logger;
  readonly #queues = new Map<string, Queue>();
  readonly #topics = new Set<string>();
  #client: Redis | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(config: BullmqBackendConfig, logger: Logger) {
    this.name = config.name;
    this.#config = config;
    this.#log = logger;
  }

  connect(): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(this.#unavailable('closed'));
    if (this.#client?.status === 'ready') return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<void> {
    this.#client?.disconnect();
    const { url, options } = producerOptions(this.#config.connection, `mqgate:${this.name}`);
    const client = url === undefined ? new Redis(options) : new Redis(url, options);
    this.#client = client;
    let reason: unknown;
    client.on('error', (err: Error) => {
      reason = err;
      this.#log.debug({ err: err.message }, 'bullmq redis client error');
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', 'bullmq redis connect timed out')),
            CONNECT_TIMEOUT_MS * 2,
          );
        }),
      ]);
    } catch (err) {
      client.disconnect();
      if (this.#client === client) this.#client = undefined;
      throw mapBullmqError(err instanceof MqgateError ? err : (reason ?? err), { backend: this.name });
    } finally {
      clearTimeout(timer);
    }
    if (this.#closing !== undefined) {
      client.disconnect();
      throw this.#unavailable('closed');
    }
    this.#log.info('bullmq connected');
  }

  /**
   * Groups the batch by topic and adds each group with one `addBulk`, keeping array order within a topic.
   * Outcomes come back in the batch's order; receipts carry the job id as `offset` (no partition: a queue
   * has none).
   */
  async publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    const client = this.#client;
    // A Queue made while the connection is down keeps a failed init for good (BullMQ caches it), and its
    // commands would wait for a reconnect: fail fast instead.
    if (client === undefined || client.status !== 'ready' || this.#closing !== undefined) {
      const error = this.#unavailable(this.#closing !== undefined ? 'closed' : 'not connected');
      return batch.map(() => ({ ok: false as const, error }));
    }
    const byTopic = new Map<string, number[]>();
    batch.forEach((env, i) => {
      const list = byTopic.get(env.topic) ?? [];
      list.push(i);
      byTopic.set(env.topic, list);
    });
    const outcomes: PublishOutcome[] = new Array(batch.length);
    await Promise.all(
      [...byTopic].map(async ([topic, indexes]) => {
        const queue = this.#queue(topic, client);
        const result = await addToQueue(
          queue,
          indexes.map((i) => batch[i]!),
          this.name,
        );
        result.outcomes.forEach((o, j) => {
          outcomes[indexes[j]!] = o;
        });
        // The queue's connection state may be stale (see above): start afresh on the next publish.
        if (result.retriableFailure) this.#evict(topic, queue);
      }),
    );
    return outcomes;
  }

  #queue(topic: string, client: Redis): Queue {
    let queue = this.#queues.get(topic);
    if (queue === undefined) {
      // Every Queue shares the producer connection; BullMQ does not close a connection it was given.
      queue = new Queue(topic, { connection: client, prefix: this.#config.prefix ?? DEFAULT_PREFIX });
      queue.on('error', (err: Error) => this.#log.debug({ err: err.message, topic }, 'bullmq queue error'));
      this.#queues.set(topic, queue);
    }
    return queue;
  }

  #evict(topic: string, queue: Queue): void {
    if (this.#queues.get(topic) === queue) this.#queues.delete(topic);
    queue.close().catch(() => undefined);
  }

  async probe(): Promise<void> {
    const client = this.#client;
    if (client === undefined) throw this.#unavailable('not connected');
    await probeConnection(client, PROBE_TIMEOUT_MS);
  }

  /**
   * Records the topic; creates nothing. A BullMQ queue needs no Redis objects before its first job (`add`
   * writes them), and Workers may start before or after. Idempotent, no round trip.
   */
  async ensureTopic(topic: string): Promise<void> {
    this.#topics.add(topic);
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.#closing;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    await this.#connecting?.catch(() => undefined);
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    const client = this.#client;
    this.#client = undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await Promise.allSettled(queues.map((q) => q.close()));
          if (client?.status === 'ready') await client.quit();
        })(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
    } catch {
      // The socket is going away either way.
    } finally {
      clearTimeout(timer);
      client?.disconnect();
    }
    this.#log.info('bullmq closed');
  }

  #unavailable(why: string): MqgateError {
    return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `bullmq backend is ${why}`, {
      context: { backend: this.name },
    });
  }
}
