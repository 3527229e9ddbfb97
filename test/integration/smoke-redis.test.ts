import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEnv } from '../helpers/stack-env.js';

describe('smoke: redis', () => {
  let redis: Redis;
  const stream = `t-${randomUUID()}`;
  const group = `g-${randomUUID()}`;

  beforeAll(async () => {
    redis = new Redis(stackEnv().redisUrl, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 1,
    });
    await redis.connect();
  });

  afterAll(async () => {
    await redis?.del(stream);
    await redis?.quit();
  });

  it('fsyncs every write (AOF, appendfsync always)', async () => {
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
  });

  it('adds to a stream, reads it in a consumer group and acks it', async () => {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    const id = await redis.xadd(stream, '*', 'id', 'm-1', 'data', 'hello');

    const reply = (await redis.xreadgroup(
      'GROUP',
      group,
      'c-1',
      'COUNT',
      1,
      'BLOCK',
      5000,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    expect(entries).toEqual([[id, ['id', 'm-1', 'data', 'hello']]]);

    expect(await redis.xack(stream, group, id!)).toBe(1);
    const pending = (await redis.xpending(stream, group)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });
});
