import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../adapters/redis/index.js';
import { streamKeys } from '../../adapters/redis/keys.js';
import type { RedisBackendConfig } from '../../src/config/types.js';
import {
  type GroupFixture,
  killAndJoinScenario,
  lateGroupScenario,
  rejectScenario,
} from '../helpers/group-scenarios.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 6;
// Shorter than the 6 s default so that a dead member is noticed well within the 5 s takeover aim.
const TIMING = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 500 };

describe('redis consumer groups (real Redis, members as child processes)', () => {
  let admin: Redis;
  let backend: RedisBackend;
  let fx: GroupFixture;
  const topics: string[] = [];
  const groups: string[] = [];

  const names = () => {
    const topic = `t-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic);
    groups.push(group);
    return { topic, group };
  };

  beforeAll(async () => {
    const url = stackEnv().redisUrl;
    admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    const config: RedisBackendConfig = {
      name: 'redis',
      type: 'redis',
      connection: { mode: 'url', url },
      partitions: PARTITIONS,
    };
    backend = new RedisBackend(config, pino({ level: 'silent' }), undefined, TIMING);
    await backend.connect();
    fx = { backend, partitions: PARTITIONS, member: { backend: config, timing: TIMING } };
  });

  afterAll(async () => {
    await backend?.close();
    for (const topic of topics) await admin.del(...streamKeys(topic, PARTITIONS));
    for (const group of groups) {
      const keys = await admin.keys(`mqgate:group:{${group}}:*`);
      if (keys.length > 0) await admin.del(...keys);
    }
    await admin?.quit();
  });

  it('3 members, 3,000 messages over 30 keys, one SIGKILLed halfway, then a fourth joins', async () => {
    const { topic, group } = names();
    const takeoverMs = await killAndJoinScenario(fx, topic, group);
    console.log(
      `[redis-groups] kill-to-takeover ${takeoverMs} ms (session timeout ${TIMING.sessionTimeoutMs} ms)`,
    );
    expect(takeoverMs).toBeLessThan(5_000);
  });

  it('handles messages published before the group existed', async () => {
    const { topic, group } = names();
    await lateGroupScenario(fx, topic, group);
  });

  it('redelivers a rejected message before the later ones of its partition', async () => {
    const { topic, group } = names();
    await rejectScenario(fx, topic, group);
  });
});
