import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord } from '../../../adapters/kafka/codec.js';
import { decode as decodeAmqp } from '../../../adapters/rabbitmq/codec.js';
import { parkingQueueName } from '../../../adapters/rabbitmq/topology.js';
import { decodeEntry } from '../../../adapters/redis/codec.js';
import { streamKeys } from '../../../adapters/redis/keys.js';
import type { Envelope } from '../../../src/envelope.js';

/**
 * Everything a topic holds on one broker right now, in broker order per partition, read with the plain client
 * and decoded with the adapter's codec. Unlike a consumer, these stop when the broker has nothing more.
 */
export type DrainReader = (topic: string) => Promise<Envelope[]>;

export function kafkaDrain(brokers: string[]): DrainReader {
  return async (topic) => {
    const kafka = new Kafka({ clientId: 'chaos-drain', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    let ends: { partition: number; high: string; low: string }[];
    try {
      if (!(await admin.listTopics()).includes(topic)) return [];
      ends = (await admin.fetchTopicOffsets(topic)).map((o) => ({
        partition: o.partition,
        high: o.high,
        low: o.low,
      }));
    } finally {
      await admin.disconnect();
    }
    const remaining = new Map(ends.filter((e) => e.high !== e.low).map((e) => [e.partition, BigInt(e.high)]));
    const out: Envelope[] = [];
    if (remaining.size === 0) return out;
    const consumer = kafka.consumer({ groupId: `chaos-drain-${topic}-${Date.now()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kafka drain of ${topic} timed out`)), 60_000);
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            out.push(
              decodeRecord({ topic, key: message.key, value: message.value, headers: message.headers }),
            );
            const high = remaining.get(partition);
            if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    return out;
  };
}

export function redisDrain(url: string, partitions: number): DrainReader {
  return async (topic) => {
    const redis = new Redis(url);
    try {
      const out: Envelope[] = [];
      for (const key of streamKeys(topic, partitions)) {
        for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) out.push(decodeEntry(fields));
      }
      return out;
    } finally {
      redis.disconnect();
    }
  };
}

/** Empties the parking queues, where RabbitMQ keeps a topic's messages while no consumer group is bound. */
export function rabbitmqDrain(url: string, exchange: string, partitions: number): DrainReader {
  return async (topic) => {
    const conn = await amqp.connect(url);
    const out: Envelope[] = [];
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      for (let p = 0; p < partitions; p++) {
        const queue = parkingQueueName(exchange, topic, p);
        try {
          await ch.checkQueue(queue);
        } catch {
          return out; // never declared: nothing went to RabbitMQ for this topic
        }
        for (;;) {
          const msg = await ch.get(queue, { noAck: true });
          if (msg === false) break;
          out.push(decodeAmqp(msg));
        }
      }
    } finally {
      await conn.close().catch(() => {});
    }
    return out;
  };
}
