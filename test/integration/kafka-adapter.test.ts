import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, KafkaMessage } from 'kafkajs';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../adapters/kafka/codec.js';
import { KafkaBackend } from '../../adapters/kafka/index.js';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 6;
const silent = pino({ level: 'silent' });

function config(brokers: string[]): KafkaBackendConfig {
  return {
    name: `kafka-${randomUUID()}`,
    type: 'kafka',
    brokers,
    partitions: PARTITIONS,
    replicationFactor: 1,
    clientId: 'mqgate-test',
    ssl: false,
  };
}

function envelope(topic: string, n: number, key: string | undefined, seq: number, size = 0): Envelope {
  return {
    id: `m-${n}-${randomUUID()}`,
    topic,
    key,
    seq,
    type: 'test.message',
    source: '/test',
    time: new Date().toISOString(),
    datacontenttype: 'application/octet-stream',
    headers: { n: String(n), 'x-unicode': 'z\u00fcrich \u{1f680}' },
    // Invalid UTF-8 on purpose: must come back byte for byte.
    data: Buffer.concat([
      Buffer.from([0xff, 0x00, 0xc3, 0x28]),
      Buffer.from(`payload ${n}`),
      Buffer.alloc(size, 1),
    ]),
    attempt: 1,
  };
}

interface Consumed {
  env: Envelope;
  partition: number;
  offset: string;
}

/**
 * Reads a topic from the beginning with a plain kafkajs consumer until `count` distinct mqgate messages came
 * (duplicates and foreign records do not count; duplicates are returned).
 */
async function consume(topic: string, count: number, timeoutMs = 60_000): Promise<Consumed[]> {
  const kafka = new kafkajs.Kafka({ brokers: stackEnv().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `g-${randomUUID()}` });
  const seen: Consumed[] = [];
  const ids = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count}`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
          if (message.headers?.ce_id) {
            const env = decodeRecord({ topic, ...message });
            ids.add(env.id);
            seen.push({ env, partition, offset: message.offset });
          }
          if (ids.size >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/**
 * Topic config changes reach the partition's log a moment after AlterConfigs answers: produce a 50 kB
 * record with a plain producer until the broker refuses it.
 */
async function untilRefused(topic: string): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: stackEnv().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let accepted = 0; accepted < 100; accepted++) {
      try {
        await producer.send({ topic, messages: [{ value: Buffer.alloc(50_000), partition: 0 }] });
      } catch (err) {
        if ((err as { type?: string }).type === 'MESSAGE_TOO_LARGE') return;
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('max.message.bytes never took effect');
  } finally {
    await producer.disconnect();
  }
}

function failures(outcomes: PublishOutcome[]) {
  return outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
}

describe('kafka adapter (real Kafka)', () => {
  let admin: Admin;
  const topics: string[] = [];
  const backends: KafkaBackend[] = [];
  const newTopic = () => {
    const t = `t-${randomUUID()}`;
    topics.push(t);
    return t;
  };
  const newBackend = (brokers = stackEnv().kafkaBrokers) => {
    const b = new KafkaBackend(config(brokers), silent);
    backends.push(b);
    return b;
  };

  beforeAll(async () => {
    const kafka = new kafkajs.Kafka({ brokers: stackEnv().kafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.disconnect();
  });

  it('creates a topic once with the configured partitions, concurrently and again', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = newTopic();
    await Promise.all([backend.ensureTopic(topic), newBackend().ensureTopic(topic)]);
    await backend.ensureTopic(topic);
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta[0]?.partitions).toHaveLength(PARTITIONS);
    expect(meta[0]?.partitions.every((p) => p.leader >= 0)).toBe(true);
  });

  it('publishes 500 messages over 10 keys: all acked, intact, in key order, on partitionOf(key)', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = newTopic();
    await backend.ensureTopic(topic);
    await backend.ensureTopic(topic);
    const seqs = new Map<string, number>();
    const batch = Array.from({ length: 500 }, (_, n) => {
      const key = `key-${n % 10}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      return envelope(topic, n, key, seq);
    });
    const outcomes = await backend.publish(batch);
    expect(failures(outcomes)).toEqual([]);
    expect(outcomes).toHaveLength(500);

    const consumed = await consume(topic, 500);
    const byId = new Map(consumed.map((c) => [c.env.id, c]));
    expect(byId.size).toBe(500);
    for (const [i, env] of batch.entries()) {
      const got = byId.get(env.id);
      expect(got?.env).toEqual(env);
      expect(got?.partition).toBe(partitionOf(env.key!, PARTITIONS));
      const outcome = outcomes[i];
      expect(outcome?.ok && outcome.receipt).toEqual({ partition: got?.partition, offset: got?.offset });
    }
    // Per key, offsets grow with seq: the broker holds each key's messages in publish order.
    for (const key of seqs.keys()) {
      const ofKey = consumed
        .filter((c) => c.env.key === key)
        .sort((a, b) => Number(a.offset) - Number(b.offset));
      expect(ofKey.map((c) => c.env.seq)).toEqual(ofKey.map((_, i) => i + 1));
    }
  });

  it('spreads keyless messages by id with a null record key', async () => {
    const backend = newBackend();
    const topic = newTopic();
    const batch = Array.from({ length: 20 }, (_, n) => envelope(topic, n, undefined, 1));
    expect(failures(await backend.publish(batch))).toEqual([]);
    const consumed = await consume(topic, 20);
    for (const c of consumed) {
      expect(c.env.key).toBeUndefined();
      expect(c.partition).toBe(partitionOf(c.env.id, PARTITIONS));
    }
  });

  it('fails a message over max.message.bytes alone, not retriable, and delivers the rest', async () => {
    const backend = newBackend();
    const topic = newTopic();
    const batch = [
      envelope(topic, 0, 'a', 1),
      envelope(topic, 1, 'a', 2, 2 * 1024 * 1024),
      envelope(topic, 2, 'a', 3),
      envelope(topic, 3, 'b', 1),
    ];
    const outcomes = await backend.publish(batch);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    const [error] = failures(outcomes);
    expect(error?.code).toBe('MQGATE_ERR_MESSAGE_TOO_LARGE');
    expect(error?.retriable).toBe(false);
    expect(error?.context).toMatchObject({ backend: expect.any(String), topic });
    const ids = (await consume(topic, 3)).map((c) => c.env.id).sort();
    expect(ids).toEqual([batch[0]!.id, batch[2]!.id, batch[3]!.id].sort());
  });

  it('pins a broker refusal on the right messages and keeps publishing after it', async () => {
    const backend = newBackend();
    const topic = newTopic();
    await backend.ensureTopic(topic);
    // Lower the limit behind the adapter's back: its size check passes, the broker refuses.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [{ name: 'max.message.bytes', value: '20000' }],
        },
      ],
    });
    await untilRefused(topic);
    const keys = ['a', 'b', 'c', 'd'];
    const batch = keys.map((k, n) => envelope(topic, n, k, 1, n % 2 === 0 ? 50_000 : 10));
    const outcomes = await backend.publish(batch);
    expect(outcomes.map((o) => o.ok)).toEqual([false, true, false, true]);
    for (const e of failures(outcomes)) {
      expect(e.code).toBe('MQGATE_ERR_MESSAGE_TOO_LARGE');
      expect(e.retriable).toBe(false);
    }
    // The producer was replaced after the refusal: later sends are neither lost nor refused.
    const more = keys.map((k, n) => envelope(topic, 10 + n, k, 2));
    expect(failures(await backend.publish(more))).toEqual([]);
    const last = envelope(topic, 20, 'a', 3);
    expect(failures(await backend.publish([last]))).toEqual([]);
    // Partitions written before the refusal are written again when the adapter isolates it: duplicates
    // under the same id are allowed, a missing message is not.
    const ids = new Set((await consume(topic, 7)).map((c) => c.env.id));
    expect(ids).toEqual(new Set([batch[1]!, batch[3]!, ...more, last].map((e) => e.id)));
  });

  it('probe resolves against a live broker', async () => {
    const backend = newBackend();
    await backend.connect();
    await expect(backend.probe()).resolves.toBeUndefined();
  });

  it('answers quickly with retriable failures when no broker is reachable', async () => {
    const backend = newBackend(['127.0.0.1:1']);
    let t = Date.now();
    await expect(backend.connect()).rejects.toMatchObject({
      code: 'MQGATE_ERR_BACKEND_UNAVAILABLE',
      retriable: true,
    });
    expect(Date.now() - t).toBeLessThan(5_000);

    t = Date.now();
    const topic = newTopic();
    const outcomes = await backend.publish([envelope(topic, 0, 'a', 1), envelope(topic, 1, undefined, 1)]);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(outcomes).toHaveLength(2);
    for (const e of failures(outcomes)) expect(e.retriable).toBe(true);
    expect(failures(outcomes)).toHaveLength(2);

    t = Date.now();
    await expect(backend.probe()).rejects.toMatchObject({ retriable: true });
    expect(Date.now() - t).toBeLessThan(3_000);
    await backend.close();
    await backend.close();
  });

  it('close is idempotent, safe before and during connect; nothing works after it', async () => {
    const never = newBackend();
    await never.close();
    await never.close();

    const connecting = newBackend();
    const pending = connecting.connect().catch(() => undefined);
    await Promise.all([connecting.close(), connecting.close()]);
    await pending;
    const topic = newTopic();
    const [outcome] = await connecting.publish([envelope(topic, 0, 'a', 1)]);
    expect(outcome?.ok).toBe(false);
    expect(outcome && !outcome.ok && outcome.error.retriable).toBe(true);
  });
});
