import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv } from '../helpers/stack-env.js';

/**
 * kafkajs 2.2.4 against Kafka 4: Kafka 4 removed the oldest protocol versions (KIP-896), but kafkajs picks
 * the highest version both sides support from ApiVersions, and all the ones it needs here are still served.
 */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('smoke: kafka', () => {
  const topic = `t-${randomUUID()}`;
  const groupId = `g-${randomUUID()}`;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'smoke-kafka', brokers: stackEnv().kafkaBrokers, logLevel: logLevel.WARN });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('creates a topic, produces with acks=-1 (idempotent) and consumes in a group', async () => {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(
      true,
    );

    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'k-1', value: 'hello', headers: { ce_id: 'm-1' } }],
    });
    await producer.disconnect();
    expect(meta?.errorCode).toBe(0);

    const consumer = kafka.consumer({ groupId });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<{ key: string; value: string; id: string }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            resolve({
              key: message.key?.toString() ?? '',
              value: message.value?.toString() ?? '',
              id: message.headers?.ce_id?.toString() ?? '',
            });
          },
        });
      });
      expect(await within(received, 30_000, 'consume')).toEqual({ key: 'k-1', value: 'hello', id: 'm-1' });
    } finally {
      await consumer.disconnect();
    }
  });
});
