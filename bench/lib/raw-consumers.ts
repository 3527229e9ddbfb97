/**
 * The baselines of scenario 4: each broker's plain client consuming a topic's messages the way an
 * application without mqgate would (kafkajs `eachMessage` with auto-commit; amqplib `consume` with manual
 * acks at the adapter's prefetch; ioredis `XREADGROUP` + `XACK`). `prepare()` makes the subscription exist
 * before anything is published (a RabbitMQ queue only gets what is published after its bind);
 * `consume(n)` resolves with messages/s from the first message to the n-th.
 */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { routingKeyOf } from '../../adapters/rabbitmq/codec.js';
import { DEFAULT_RABBITMQ_OPTIONS, resolveConfig } from '../../adapters/rabbitmq/config.js';
import { groupQueueName, queueArguments } from '../../adapters/rabbitmq/topology.js';
import { streamKeys } from '../../adapters/redis/keys.js';
import type { Config, RabbitmqBackendConfig } from '../../src/config/types.js';
import { type BackendName, PARTITIONS } from './brokers.js';

/** A plain-client consumer of one topic. */
export interface RawConsumer {
  prepare(): Promise<void>;
  consume(n: number): Promise<number>;
}

/** Counts arrivals; `done` resolves with messages/s from the first arrival to the n-th. */
function counter(n: number): { hit(k?: number): void; done: Promise<number> } {
  let seen = 0;
  let first = 0;
  let resolve!: (rate: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  return {
    hit: (k = 1) => {
      if (seen === 0) first = performance.now();
      seen += k;
      if (seen >= n) resolve(n / ((performance.now() - first) / 1000));
    },
    done,
  };
}

/** The raw consumer of `name` for `topic`, with the same settings as `config`'s backend. */
export function rawConsumer(name: BackendName, config: Config, topic: string): RawConsumer {
  const entry = config.backends[name]!;
  if (entry.type === 'kafka') {
    const kafka = new kafkajs.Kafka({
      clientId: 'bench-raw',
      brokers: [...entry.brokers],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    return {
      prepare: async () => {},
      consume: async (n) => {
        const consumer = kafka.consumer({ groupId: `bench-raw-${topic}` });
        await consumer.connect();
        try {
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          const c = counter(n);
          await consumer.run({ eachMessage: async () => c.hit() });
          return await c.done;
        } finally {
          await consumer.disconnect();
        }
      },
    };
  }
  if (entry.type === 'rabbitmq') return rabbitRaw(entry, topic);
  if (entry.type === 'redis' && entry.connection.mode === 'url') return redisRaw(entry.connection.url, topic);
  throw new Error(`no raw consumer for ${name}`);
}

function rabbitRaw(entry: RabbitmqBackendConfig, topic: string): RawConsumer {
  const resolved = resolveConfig(entry);
  const queues = Array.from({ length: PARTITIONS }, (_, p) =>
    groupQueueName(entry.exchange, topic, p, 'raw'),
  );
  return {
    prepare: async () => {
      const conn = await amqp.connect(entry.urls[0]!);
      const ch = await conn.createChannel();
      for (let p = 0; p < PARTITIONS; p++) {
        await ch.assertQueue(queues[p]!, { durable: true, arguments: queueArguments(resolved) });
        await ch.bindQueue(queues[p]!, entry.exchange, routingKeyOf(topic, p));
      }
      await conn.close();
    },
    consume: async (n) => {
      const conn = await amqp.connect(entry.urls[0]!);
      try {
        const c = counter(n);
        for (const queue of queues) {
          // One channel per queue, as the adapter does, with its prefetch.
          const ch = await conn.createChannel();
          await ch.prefetch(DEFAULT_RABBITMQ_OPTIONS.prefetch);
          await ch.consume(queue, (msg) => {
            if (!msg) return;
            ch.ack(msg);
            c.hit();
          });
        }
        return await c.done;
      } finally {
        await conn.close();
      }
    },
  };
}

function redisRaw(url: string, topic: string): RawConsumer {
  const streams = streamKeys(topic, PARTITIONS);
  return {
    prepare: async () => {
      const redis = new Redis(url);
      for (const s of streams) await redis.xgroup('CREATE', s, 'raw', '0', 'MKSTREAM');
      redis.disconnect();
    },
    consume: async (n) => {
      const redis = new Redis(url);
      try {
        const c = counter(n);
        let seen = 0;
        while (seen < n) {
          const res = (await redis.xreadgroup(
            'GROUP',
            'raw',
            'c1',
            'COUNT',
            100,
            'BLOCK',
            1000,
            'STREAMS',
            ...streams,
            ...streams.map(() => '>'),
          )) as [string, [string, string[]][]][] | null;
          for (const [stream, entries] of res ?? []) {
            if (entries.length === 0) continue;
            await redis.xack(stream, 'raw', ...entries.map(([id]) => id));
            seen += entries.length;
            c.hit(entries.length);
          }
        }
        return await c.done;
      } finally {
        redis.disconnect();
      }
    },
  };
}
