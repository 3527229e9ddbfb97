import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { heartbeatExchangeName } from '../../adapters/rabbitmq/membership.js';
import { groupQueueName, parkingQueueName } from '../../adapters/rabbitmq/topology.js';
import { streamKeys } from '../../adapters/redis/keys.js';

/**
 * Raw config entries for the SDK tests (parsed by the test or by test/fixtures/sdk-consumer.ts), and the
 * cleanup of what the tests leave on the shared stack. Backend names: `redis`, `rabbit`.
 */
export const PARTITIONS = 6;
export const EXCHANGE = 'mqgate';

export const redisEntry = (url: string) => ({ type: 'redis', url, partitions: PARTITIONS });
export const rabbitEntry = (url: string) => ({
  type: 'rabbitmq',
  urls: [url],
  partitions: PARTITIONS,
  queueType: 'quorum',
  exchange: EXCHANGE,
});

/** A raw config whose one route sends every topic to `backends` (failover, in that order). */
export function rawConfig(backends: Record<string, object>, order = Object.keys(backends)): object {
  return { backends, routes: [{ match: '*', backends: order, mode: 'failover' }] };
}

/** Deletes the topics' streams and the groups' membership keys (Redis stream groups go with the streams). */
export async function cleanRedis(url: string, topics: readonly string[], groups: readonly string[]) {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const topic of topics) await admin.del(...streamKeys(topic, PARTITIONS));
    for (const group of groups) {
      const keys = await admin.keys(`mqgate:group:{${group}}:*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  } finally {
    admin.disconnect();
  }
}

/** Deletes the topics' parking queues and every group's queues and heartbeat exchange. */
export async function cleanRabbit(url: string, topics: readonly string[], groups: readonly string[]) {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const topic of topics) {
      for (let p = 0; p < PARTITIONS; p++) {
        await ch.deleteQueue(parkingQueueName(EXCHANGE, topic, p));
        for (const group of groups) await ch.deleteQueue(groupQueueName(EXCHANGE, topic, p, group));
      }
    }
    for (const group of groups) await ch.deleteExchange(heartbeatExchangeName(EXCHANGE, group));
  } finally {
    await conn.close();
  }
}
