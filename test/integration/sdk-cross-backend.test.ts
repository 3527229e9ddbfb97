import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../adapters/index.js';
import { streamKeys } from '../../adapters/redis/keys.js';
import { streamGroupName } from '../../adapters/redis/subscriber.js';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import type { Backend } from '../../src/ports/backend.js';
import { Consumer, type GapEvent } from '../../src/sdk/index.js';
import { firstHandledOrder, keyedEnvelopes, publishAll, seqs } from '../helpers/sdk-member.js';
import {
  cleanRabbit,
  cleanRedis,
  PARTITIONS,
  rabbitEntry,
  rawConfig,
  redisEntry,
} from '../helpers/sdk-stack.js';
import { stackEnv } from '../helpers/stack-env.js';

interface Handled {
  id: string;
  key: string;
  seq: number;
  backend: string;
  t: number;
}

/**
 * One group reading a topic whose route put its messages on two backends (RabbitMQ, then Redis after a
 * failover): dedup by id across backends, per-key order by seq, held messages while an earlier seq is
 * missing. Messages are published with the backends' own `publish()`, seqs continuing, as the relay would.
 */
describe('SDK consumer across backends (RabbitMQ + Redis on one route)', () => {
  const topics: string[] = [];
  const groups: string[] = [];
  let env: ReturnType<typeof stackEnv>;
  let config: Config;
  let rabbit: Backend;
  let redis: Backend;
  let admin: Redis;

  beforeAll(async () => {
    env = stackEnv();
    config = parseConfig(
      rawConfig({ rabbit: rabbitEntry(env.rabbitmqUrl), redis: redisEntry(env.redisUrl) }),
    );
    const silent = pino({ level: 'silent' });
    rabbit = await createBackend(config.backends.rabbit!, silent);
    redis = await createBackend(config.backends.redis!, silent);
    await Promise.all([rabbit.connect(), redis.connect()]);
    admin = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await Promise.all([rabbit?.close(), redis?.close()]);
    admin?.disconnect();
    await cleanRedis(env.redisUrl, topics, groups);
    await cleanRabbit(env.rabbitmqUrl, topics, groups);
  });

  /** A running consumer on a fresh topic and group that records what it handled and every gap. */
  async function start() {
    const topic = `sdk-x-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic);
    groups.push(group);
    await Promise.all([rabbit.ensureTopic(topic), redis.ensureTopic(topic)]);
    // A long gap timeout: a message that waits does so for its earlier seq, never for the timer.
    const consumer = new Consumer({ config, group, topics: [topic], gapTimeoutMs: 60_000 });
    const handled: Handled[] = [];
    const gaps: GapEvent[] = [];
    const errors: Error[] = [];
    consumer.on('gap', (g) => gaps.push(g));
    consumer.on('error', (e) => errors.push(e));
    await consumer.run(async (msg) => {
      handled.push({ id: msg.id, key: msg.key!, seq: msg.seq, backend: msg.backend, t: Date.now() });
    });
    const until = async (pred: () => boolean, what: string, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) {
          throw new Error(`no ${what} within ${timeoutMs} ms; ${handled.length} handled, errors ${errors}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    return { topic, group, consumer, handled, gaps, until };
  }

  const exactlyOnce = (handled: readonly Handled[], ids: readonly string[]) => {
    expect(handled.map((h) => h.id).sort()).toEqual([...new Set(ids)].sort());
  };

  it('failed over mid-stream, with failover duplicates: every message once, per key in seq order', async () => {
    const { topic, consumer, handled, gaps, until } = await start();
    try {
      const before = keyedEnvelopes(topic, 20, 10, 1); // seq 1..10 on RabbitMQ
      const after = keyedEnvelopes(topic, 20, 10, 11); // seq 11..20 on Redis
      // The relay resent seq 9 and 10 to Redis (their RabbitMQ confirms were lost): same ids.
      const resent = before.filter((e) => e.seq >= 9);
      await publishAll(rabbit, before);
      // The route failed over while the group was reading RabbitMQ's part.
      await until(() => new Set(handled.map((h) => h.key)).size === 20, 'a message of every key');
      await publishAll(redis, [...resent, ...after]);
      await until(() => handled.length >= 400, 'all 400');
      // Redis delivers the resent copies before seq 11 of their key, so they have all been seen by now.
      exactlyOnce(
        handled,
        [...before, ...after].map((e) => e.id),
      );
      for (const [key, order] of firstHandledOrder(handled)) expect(order, key).toEqual(seqs(20));
      expect(handled.filter((h) => h.seq > 10).every((h) => h.backend === 'redis')).toBe(true);
      expect(gaps).toEqual([]);
    } finally {
      await consumer.close({ timeoutMs: 10_000 });
    }
  });

  it('the later part arrives first: held until the earlier seqs come from the other backend', async () => {
    const { topic, group, consumer, handled, gaps, until } = await start();
    try {
      await publishAll(rabbit, keyedEnvelopes(topic, 20, 5, 1));
      await until(() => handled.length >= 100, 'seq 1..5 of every key');
      // seq 11..15 reach the group (on Redis) while 6..10 are not even published yet.
      const later = keyedEnvelopes(topic, 20, 5, 11);
      await publishAll(redis, later);
      const streams = streamKeys(topic, PARTITIONS);
      const pending = async () => {
        let n = 0;
        for (const s of streams) {
          const lengths = await admin.xlen(s);
          const [count] = (await admin.xpending(s, streamGroupName(group))) as [number];
          if (lengths > 0 && Number(count) === 0) return -1; // a stream not read yet
          n += Number(count);
        }
        return n;
      };
      const deadline = Date.now() + 30_000;
      while ((await pending()) <= 0) {
        expect(Date.now(), 'Redis entries read by the group').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(handled.filter((h) => h.seq > 5)).toEqual([]);
      await publishAll(rabbit, keyedEnvelopes(topic, 20, 5, 6));
      await until(() => handled.length >= 300, 'all 300');
      exactlyOnce(
        handled,
        [...keyedEnvelopes(topic, 20, 15, 1)].map((e) => e.id),
      );
      for (const [key, order] of firstHandledOrder(handled)) expect(order, key).toEqual(seqs(15));
      expect(handled.filter((h) => h.seq > 10).every((h) => h.backend === 'redis')).toBe(true);
      expect(gaps).toEqual([]);
    } finally {
      await consumer.close({ timeoutMs: 10_000 });
    }
  });

  it('the same ids on both backends (a failover duplicate of everything): each handled once', async () => {
    const { topic, consumer, handled, gaps, until } = await start();
    try {
      const both = keyedEnvelopes(topic, 10, 10, 1);
      // A tail on each backend alone: once seq 11 and 12 of a key are handled, both backends have
      // delivered all of that key's copies before them (per-key order within a backend).
      const rabbitTail = keyedEnvelopes(topic, 10, 1, 11);
      const redisTail = keyedEnvelopes(topic, 10, 1, 12);
      await Promise.all([
        publishAll(rabbit, [...both, ...rabbitTail]),
        publishAll(redis, [...both, ...redisTail]),
      ]);
      await until(() => handled.length >= 120, 'all 120');
      exactlyOnce(
        handled,
        [...both, ...rabbitTail, ...redisTail].map((e) => e.id),
      );
      for (const [key, order] of firstHandledOrder(handled)) expect(order, key).toEqual(seqs(12));
      expect(new Set(handled.map((h) => h.backend))).toEqual(new Set(['rabbit', 'redis']));
      expect(gaps).toEqual([]);
    } finally {
      await consumer.close({ timeoutMs: 10_000 });
    }
  });
});
