import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../adapters/redis/codec.js';
import { RedisBackend } from '../../adapters/redis/index.js';
import { streamKey, streamKeys } from '../../adapters/redis/keys.js';
import type { RedisBackendConfig } from '../../src/config/types.js';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 4;
const silent = pino({ level: 'silent' });

function config(url: string, extra: Partial<RedisBackendConfig> = {}): RedisBackendConfig {
  return {
    name: `redis-${randomUUID()}`,
    type: 'redis',
    connection: { mode: 'url', url },
    partitions: PARTITIONS,
    ...extra,
  };
}

function envelope(topic: string, n: number, key: string | undefined, seq: number): Envelope {
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
    // Invalid UTF-8 on purpose (lone 0xff, truncated sequence, NUL): must come back byte for byte.
    data: Buffer.concat([Buffer.from([0xff, 0x00, 0xc3, 0x28, 0xfe]), Buffer.from(`payload ${n}`)]),
    attempt: 1,
  };
}

async function readAll(
  admin: Redis,
  topic: string,
): Promise<Map<number, { entryId: string; env: Envelope }[]>> {
  const byPartition = new Map<number, { entryId: string; env: Envelope }[]>();
  for (let p = 0; p < PARTITIONS; p++) {
    const entries = await admin.xrangeBuffer(streamKey(topic, p), '-', '+');
    byPartition.set(
      p,
      entries.map(([id, fields]) => ({ entryId: id.toString(), env: decodeEntry(fields) })),
    );
  }
  return byPartition;
}

describe('redis adapter (real Redis)', () => {
  let admin: Redis;
  const backends: RedisBackend[] = [];
  const topics: string[] = [];

  function newTopic(): string {
    const topic = `t-${randomUUID()}`;
    topics.push(topic);
    return topic;
  }

  function newBackend(cfg: RedisBackendConfig): RedisBackend {
    const backend = new RedisBackend(cfg, silent);
    backends.push(backend);
    return backend;
  }

  beforeAll(async () => {
    admin = new Redis(stackEnv().redisUrl, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 1,
    });
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  afterAll(async () => {
    for (const topic of topics) await admin.del(...streamKeys(topic, PARTITIONS));
    await admin?.quit();
  });

  it('publishes 500 messages over 10 keys: each once, intact, per-key order, partition of the key', async () => {
    const backend = newBackend(config(stackEnv().redisUrl));
    await backend.connect();
    const topic = newTopic();
    await backend.ensureTopic(topic);
    await backend.ensureTopic(topic);

    const seqs = new Map<string, number>();
    const sent: Envelope[] = [];
    for (let n = 0; n < 500; n++) {
      // Every 50th message is keyless: it spreads by id.
      const key = n % 50 === 49 ? undefined : `key-${n % 10}`;
      const seq = (seqs.get(key ?? '') ?? 0) + 1;
      if (key !== undefined) seqs.set(key, seq);
      sent.push(envelope(topic, n, key, key === undefined ? 1 : seq));
    }

    const outcomes: PublishOutcome[] = [];
    for (let i = 0; i < sent.length; i += 100)
      outcomes.push(...(await backend.publish(sent.slice(i, i + 100))));
    expect(outcomes).toHaveLength(500);
    const receipts = new Map<string, { partition?: number; offset?: string }>();
    outcomes.forEach((o, i) => {
      expect(o.ok, JSON.stringify(o)).toBe(true);
      if (o.ok) receipts.set(sent[i]!.id, o.receipt);
    });

    const read = await readAll(admin, topic);
    const byId = new Map(sent.map((e) => [e.id, e]));
    const seen = new Set<string>();
    for (const [partition, entries] of read) {
      const lastSeq = new Map<string, number>();
      for (const { entryId, env } of entries) {
        const original = byId.get(env.id);
        expect(original, `unknown id ${env.id}`).toBeDefined();
        expect(seen.has(env.id), `duplicate ${env.id}`).toBe(false);
        seen.add(env.id);
        expect(env.data.equals(original!.data)).toBe(true);
        expect(env).toEqual({ ...original, subject: undefined, traceparent: undefined });
        expect(partition).toBe(partitionOf(env.key ?? env.id, PARTITIONS));
        expect(receipts.get(env.id)).toEqual({ partition, offset: entryId });
        if (env.key !== undefined) {
          expect(env.seq).toBeGreaterThan(lastSeq.get(env.key) ?? 0);
          lastSeq.set(env.key, env.seq);
        }
      }
    }
    expect(seen.size).toBe(500);
    expect(backend.knownTopics()).toEqual([topic]);
  });

  it('is readable by a consumer group (XREADGROUP) with the Buffer variants', async () => {
    const backend = newBackend(config(stackEnv().redisUrl));
    await backend.connect();
    const topic = newTopic();
    const msg = envelope(topic, 1, 'k', 1);
    const [outcome] = await backend.publish([msg]);
    expect(outcome?.ok).toBe(true);
    const key = streamKey(topic, partitionOf('k', PARTITIONS));
    await admin.xgroup('CREATE', key, 'g', '0');
    // ioredis types no xreadgroupBuffer; callBuffer keeps every field a Buffer.
    const reply = (await admin.callBuffer(
      'XREADGROUP',
      'GROUP',
      'g',
      'c',
      'COUNT',
      10,
      'STREAMS',
      key,
      '>',
    )) as [Buffer, [Buffer, Buffer[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    expect(entries).toHaveLength(1);
    expect(decodeEntry(entries[0]![1]).data.equals(msg.data)).toBe(true);
  });

  it('trims streams to about maxLen', async () => {
    const backend = newBackend(config(stackEnv().redisUrl, { maxLen: 10 }));
    await backend.connect();
    const topic = newTopic();
    const batch = Array.from({ length: 1000 }, (_, n) => envelope(topic, n, 'one-key', n + 1));
    const outcomes = await backend.publish(batch);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const len = await admin.xlen(streamKey(topic, partitionOf('one-key', PARTITIONS)));
    // `~` trims whole macro nodes (100 entries by default), so the length is near, not at, maxLen.
    expect(len).toBeLessThan(300);
  });

  it('probes, and closes idempotently; after close it refuses to connect or publish', async () => {
    const backend = newBackend(config(stackEnv().redisUrl));
    await expect(backend.probe()).rejects.toMatchObject({ retriable: true });
    await backend.connect();
    await backend.connect();
    await expect(backend.probe()).resolves.toBeUndefined();
    await Promise.all([backend.close(), backend.close()]);
    await backend.close();
    const [outcome] = await backend.publish([envelope(newTopic(), 1, 'k', 1)]);
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true },
    });
    await expect(backend.connect()).rejects.toMatchObject({ retriable: true });
  });

  it('close() is safe before connect() and while it runs', async () => {
    await newBackend(config(stackEnv().redisUrl)).close();
    const backend = newBackend(config(stackEnv().redisUrl));
    const connecting = backend.connect();
    await backend.close();
    await expect(connecting).rejects.toMatchObject({ retriable: true });
  });

  it('fails fast and retriably when Redis is unreachable', async () => {
    const backend = newBackend(config('redis://127.0.0.1:1'));
    let t0 = performance.now();
    await expect(backend.connect()).rejects.toMatchObject({
      code: 'MQGATE_ERR_BACKEND_UNAVAILABLE',
      retriable: true,
    });
    expect(performance.now() - t0).toBeLessThan(7_000);

    const topic = newTopic();
    t0 = performance.now();
    const outcomes = await backend.publish([envelope(topic, 1, 'a', 1), envelope(topic, 2, 'b', 1)]);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes) expect(o).toMatchObject({ ok: false, error: { retriable: true } });
    await expect(backend.probe()).rejects.toMatchObject({ retriable: true });
    await backend.close();
    await backend.close();
  });

  it('reports a dropped connection as retriable and recovers by itself', async () => {
    const cfg = config(stackEnv().redisUrl);
    const backend = newBackend(cfg);
    await backend.connect();
    const topic = newTopic();
    // Kill only this backend's connection (found by its client name): the stack is shared.
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=mqgate:${cfg.name} `));
    const clientId = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(clientId).toBeDefined();
    expect(await admin.client('KILL', 'ID', clientId!)).toBe(1);
    const [during] = await backend.publish([envelope(topic, 1, 'k', 1)]);
    if (!during?.ok) expect(during?.error.retriable).toBe(true);

    const deadline = Date.now() + 10_000;
    let after: PublishOutcome | undefined;
    while (Date.now() < deadline) {
      [after] = await backend.publish([envelope(topic, 2, 'k', 2)]);
      if (after?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after?.ok).toBe(true);
    await expect(backend.probe()).resolves.toBeUndefined();
  });
  it('waitReplicas: a batch fewer replicas acknowledged than asked fails retriable (the single server has none)', async () => {
    const backend = newBackend(config(stackEnv().redisUrl, { waitReplicas: 1, waitTimeoutMs: 200 }));
    await backend.connect();
    const topic = newTopic();
    const batch = [envelope(topic, 1, 'k', 1), envelope(topic, 2, 'k', 2)];
    const started = Date.now();
    const outcomes = await backend.publish(batch);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150); // WAIT really waited for its timeout
    for (const o of outcomes) {
      expect(o.ok).toBe(false);
      if (!o.ok) {
        expect(o.error.code).toBe('MQGATE_ERR_BACKEND_UNAVAILABLE');
        expect(o.error.retriable).toBe(true);
        expect(o.error.message).toMatch(/only 0 replica/);
      }
    }
    // Written on the primary all the same: a resend duplicates, which the SDK dedups by id.
    const read = await readAll(admin, topic);
    expect([...read.values()].flat().map((e) => e.env.id)).toEqual(batch.map((e) => e.id));
  });
});
