import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord } from '../../adapters/kafka/codec.js';
import { decode as decodeAmqp } from '../../adapters/rabbitmq/codec.js';
import { parkingQueueName } from '../../adapters/rabbitmq/topology.js';
import { decodeEntry } from '../../adapters/redis/codec.js';
import { streamKeys } from '../../adapters/redis/keys.js';
import type { Envelope } from '../../src/envelope.js';

/**
 * Reads what a topic holds on a real broker, with the plain client, and decodes it with the adapter's codec.
 * Resolves once `expected` distinct ids were seen (duplicates are kept in the result) or rejects on timeout.
 */
export type BrokerReader = (topic: string, expected: number, timeoutMs: number) => Promise<Envelope[]>;

function distinct(envs: Envelope[]): number {
  return new Set(envs.map((e) => e.id)).size;
}

export function kafkaReader(brokers: string[]): BrokerReader {
  return async (topic, expected, timeoutMs) => {
    const kafka = new Kafka({ clientId: 'test-reader', brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `reader-${topic}` });
    const seen: Envelope[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`kafka: ${distinct(seen)}/${expected} after ${timeoutMs} ms`)),
          timeoutMs,
        );
        void consumer.run({
          eachMessage: async ({ topic: t, message }) => {
            seen.push(
              decodeRecord({ topic: t, key: message.key, value: message.value, headers: message.headers }),
            );
            if (distinct(seen) >= expected) {
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
  };
}

export function redisReader(url: string, partitions: number): BrokerReader {
  return async (topic, expected, timeoutMs) => {
    const redis = new Redis(url);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const seen: Envelope[] = [];
        for (const key of streamKeys(topic, partitions)) {
          for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) seen.push(decodeEntry(fields));
        }
        if (distinct(seen) >= expected) return seen;
        if (Date.now() > deadline)
          throw new Error(`redis: ${distinct(seen)}/${expected} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      redis.disconnect();
    }
  };
}

/** Reads the parking queues, where RabbitMQ keeps a topic's messages while no consumer group is bound. */
export function rabbitmqReader(url: string, exchange: string, partitions: number): BrokerReader {
  return async (topic, expected, timeoutMs) => {
    const conn = await amqp.connect(url);
    const seen: Envelope[] = [];
    try {
      const ch = await conn.createChannel();
      await ch.prefetch(500);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`rabbitmq: ${distinct(seen)}/${expected} after ${timeoutMs} ms`)),
          timeoutMs,
        );
        for (let p = 0; p < partitions; p++) {
          ch.consume(parkingQueueName(exchange, topic, p), (msg) => {
            if (msg === null) return;
            seen.push(decodeAmqp(msg));
            ch.ack(msg);
            if (distinct(seen) >= expected) {
              clearTimeout(timer);
              resolve();
            }
          }).catch((err: unknown) => {
            // A consume still unanswered when the expected messages already came and the connection closed.
            if (distinct(seen) < expected) reject(err);
          });
        }
      });
    } finally {
      await conn.close();
    }
    return seen;
  };
}
