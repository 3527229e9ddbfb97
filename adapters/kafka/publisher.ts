import type { Message, TopicMessages } from 'kafkajs';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { BATCH_OVERHEAD_BYTES, encodeRecord, recordBytes } from './codec.js';
import { KAFKA_TIMEOUTS } from './config.js';
import { isTooLarge, toKafkaError } from './errors.js';
import type { ProducerLease, ProducerSlot } from './producer-slot.js';
import type { TopicInfo } from './topics.js';

interface Item {
  /** Position in the publish batch. */
  readonly index: number;
  readonly record: Message;
  readonly bytes: number;
}

/** Consecutive records of one partition that fit in one record batch. */
interface Chunk {
  readonly lane: string;
  readonly topic: string;
  readonly partition: number;
  readonly items: Item[];
  bytes: number;
}

type Outcomes = (PublishOutcome | undefined)[];

/**
 * Publishes envelopes with an acks=-1 producer and reports one outcome per message.
 *
 * Each partition's records go out in array order as record batches under the topic's `max.message.bytes`:
 * the broker applies that limit to a whole batch, and kafkajs would put all of a send's records for a
 * partition in one batch (https://github.com/tulios/kafkajs/issues/1227). Batch i of every partition
 * travels in one `sendBatch` (one produce request per broker); batch i+1 of a partition only after batch i
 * was acknowledged. kafkajs fails a whole request when one partition fails, without saying which
 * (src/protocol/requests/produce/v3/response.js), so after a refusal the partitions are sent one by one,
 * and a batch refused as too large is halved, to pin the outcome on the right messages.
 */
export class KafkaPublisher {
  constructor(
    private readonly backend: string,
    private readonly slot: ProducerSlot,
    private readonly topicInfo: (topic: string) => Promise<TopicInfo>,
  ) {}

  /** See `Backend.publish`: resolves after the broker acked, never rejects. */
  async publish(batch: readonly Envelope[]): Promise<PublishOutcome[]> {
    const started = Date.now();
    const outcomes: Outcomes = new Array(batch.length);
    const lanes = await this.#plan(batch, outcomes);
    const laneErrors = new Map<string, MqgateError>();
    for (let round = 0; ; round++) {
      const chunks = [...lanes.values()]
        .flatMap((list) => list[round] ?? [])
        .filter((c) => !laneErrors.has(c.lane));
      if (chunks.length === 0) break;
      if (Date.now() - started > KAFKA_TIMEOUTS.publishBudgetMs) break;
      // A retriable failure stops its partition: a later message of a key must not pass an earlier one.
      for (const [lane, err] of await this.#send(chunks, outcomes)) laneErrors.set(lane, err);
    }
    const budget = new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', 'kafka publish ran out of time', {
      context: { backend: this.backend },
    });
    for (const list of lanes.values()) {
      for (const chunk of list) {
        fill(outcomes, chunk, laneErrors.get(chunk.lane) ?? budget, false);
      }
    }
    return outcomes.map(
      (o) =>
        o ?? { ok: false, error: new MqgateError('MQGATE_ERR_INTERNAL', 'kafka publish lost an outcome') },
    );
  }

  /** Encodes, partitions and batches; messages that cannot go at all get their outcome here. */
  async #plan(batch: readonly Envelope[], outcomes: Outcomes): Promise<Map<string, Chunk[]>> {
    const lanes = new Map<string, Chunk[]>();
    for (const [index, env] of batch.entries()) {
      const context = { backend: this.backend, topic: env.topic, id: env.id };
      let info: TopicInfo;
      let record: Message;
      try {
        info = await this.topicInfo(env.topic);
        record = encodeRecord(env, partitionOf(env.key ?? env.id, info.partitions));
      } catch (err) {
        outcomes[index] = { ok: false, error: toKafkaError(err, context, `publishing to ${env.topic}`) };
        continue;
      }
      const bytes = recordBytes(record);
      const room = info.maxBatchBytes - BATCH_OVERHEAD_BYTES;
      if (bytes > room) {
        const message = `message of about ${bytes} bytes is over ${env.topic}'s max.message.bytes (${info.maxBatchBytes})`;
        outcomes[index] = {
          ok: false,
          error: new MqgateError('MQGATE_ERR_MESSAGE_TOO_LARGE', message, {
            context: { ...context, bytes, maxBytes: info.maxBatchBytes },
          }),
        };
        continue;
      }
      const partition = record.partition ?? 0;
      const lane = `${env.topic}\u0000${partition}`;
      const list = lanes.get(lane) ?? [];
      lanes.set(lane, list);
      let chunk = list[list.length - 1];
      if (!chunk || chunk.bytes + bytes > room) {
        chunk = { lane, topic: env.topic, partition, items: [], bytes: 0 };
        list.push(chunk);
      }
      chunk.items.push({ index, record, bytes });
      chunk.bytes += bytes;
    }
    return lanes;
  }

  /** Sends chunks of distinct partitions together; returns the lanes that failed retriably, with why. */
  async #send(chunks: Chunk[], outcomes: Outcomes): Promise<Map<string, MqgateError>> {
    const stopped = new Map<string, MqgateError>();
    let lease: ProducerLease;
    try {
      lease = await this.slot.acquire();
    } catch (err) {
      const error = toKafkaError(err, { backend: this.backend }, 'connecting the kafka producer');
      for (const chunk of chunks) stopped.set(chunk.lane, fill(outcomes, chunk, error, true));
      return stopped;
    }
    try {
      const acks = await deadline(
        lease.producer.sendBatch({ acks: -1, timeout: KAFKA_TIMEOUTS.ackMs, topicMessages: byTopic(chunks) }),
        KAFKA_TIMEOUTS.sendMs,
        this.backend,
      );
      for (const chunk of chunks) {
        const ack = acks.find((a) => a.topicName === chunk.topic && a.partition === chunk.partition);
        if (ack?.baseOffset === undefined) {
          const error = new MqgateError(
            'MQGATE_ERR_BACKEND_UNAVAILABLE',
            'kafka gave no offset for a batch',
            {
              context: { backend: this.backend },
              retriable: true,
            },
          );
          stopped.set(chunk.lane, fill(outcomes, chunk, error, true));
          continue;
        }
        const base = BigInt(ack.baseOffset);
        chunk.items.forEach((item, j) => {
          outcomes[item.index] = {
            ok: true,
            receipt: { partition: chunk.partition, offset: String(base + BigInt(j)) },
          };
        });
      }
      return stopped;
    } catch (err) {
      this.slot.retire(lease);
      const error = toKafkaError(err, { backend: this.backend }, 'kafka produce');
      if (error.retriable) {
        for (const chunk of chunks) stopped.set(chunk.lane, fill(outcomes, chunk, error, true));
        return stopped;
      }
      if (chunks.length > 1) {
        // Which partition was refused is unknown: ask each alone. Partitions the broker did write get
        // written again; that is a duplicate under the same id, never a loss.
        for (const chunk of chunks)
          for (const [lane, e] of await this.#send([chunk], outcomes)) stopped.set(lane, e);
        return stopped;
      }
      const [chunk] = chunks as [Chunk];
      if (isTooLarge(error) && chunk.items.length > 1) return this.#halve(chunk, outcomes);
      fill(outcomes, chunk, error, true);
      return stopped;
    }
  }

  /** A batch the broker refused as too large although our estimate let it through: halve until it fits. */
  async #halve(chunk: Chunk, outcomes: Outcomes): Promise<Map<string, MqgateError>> {
    const mid = Math.ceil(chunk.items.length / 2);
    const part = (items: Item[]): Chunk => ({
      ...chunk,
      items,
      bytes: items.reduce((n, i) => n + i.bytes, 0),
    });
    const second = part(chunk.items.slice(mid));
    const stopped = await this.#send([part(chunk.items.slice(0, mid))], outcomes);
    const error = stopped.get(chunk.lane);
    if (error) {
      fill(outcomes, second, error, true);
      return stopped;
    }
    return this.#send([second], outcomes);
  }
}

/** Gives each item of a chunk without an outcome (or every item, with `all`) the error; returns it. */
function fill(outcomes: Outcomes, chunk: Chunk, error: MqgateError, all: boolean): MqgateError {
  const scoped = new MqgateError(error.code, error.message, {
    cause: error.cause,
    retriable: error.retriable,
    context: { ...error.context, topic: chunk.topic, partition: chunk.partition },
  });
  for (const item of chunk.items) {
    if (all || outcomes[item.index] === undefined) outcomes[item.index] = { ok: false, error: scoped };
  }
  return scoped;
}

function byTopic(chunks: Chunk[]): TopicMessages[] {
  const topics = new Map<string, Message[]>();
  for (const chunk of chunks) {
    const messages = topics.get(chunk.topic) ?? [];
    for (const item of chunk.items) messages.push(item.record);
    topics.set(chunk.topic, messages);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
}

/** Rejects with a retriable MQGATE_ERR_BACKEND_TIMEOUT after `ms`; the caller then retires the producer. */
function deadline<T>(work: Promise<T>, ms: number, backend: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', `kafka produce unanswered after ${ms} ms`, {
            context: { backend },
          }),
        ),
      ms,
    );
  });
  work.catch(() => undefined); // settles after the deadline when the producer is disconnected
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
