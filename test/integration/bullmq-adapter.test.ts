import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeJobData, jobIdOf, messageIdOf } from '../../adapters/bullmq/codec.js';
import { BullmqBackend } from '../../adapters/bullmq/index.js';
import type { BullmqBackendConfig } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import { hasScheduling } from '../../src/ports/backend.js';
import { stackEnv } from '../helpers/stack-env.js';

const silent = pino({ level: 'silent' });
// A prefix of this run's own, so cleanup removes exactly what these tests made.
const prefix = `mqgate-test-${randomUUID()}`;

function config(url: string): BullmqBackendConfig {
  return { name: `bullmq-${randomUUID()}`, type: 'bullmq', connection: { mode: 'url', url }, prefix };
}

function envelope(topic: string, n: number, headers: Record<string, string> = {}, id?: string): Envelope {
  return {
    id: id ?? `m-${n}-${randomUUID()}`,
    topic,
    key: `k-${n % 3}`,
    seq: n + 1,
    type: 'test.job',
    source: '/test',
    time: new Date().toISOString(),
    datacontenttype: 'application/octet-stream',
    headers,
    data: Buffer.concat([Buffer.from([0xff, 0x00, 0xc3, 0x28]), Buffer.from(`job ${n}`)]),
    attempt: 1,
  };
}

describe('bullmq adapter (real Redis)', () => {
  let admin: Redis;
  const closers: (() => Promise<unknown>)[] = [];

  function newBackend(): BullmqBackend {
    const backend = new BullmqBackend(config(stackEnv().redisUrl), silent);
    closers.push(() => backend.close());
    return backend;
  }

  function queueOf(topic: string): Queue {
    const queue = new Queue(topic, { connection: { url: stackEnv().redisUrl }, prefix });
    closers.push(() => queue.close());
    return queue;
  }

  /** Starts a Worker (concurrency 1) and resolves with the first `count` jobs it processed, in order. */
  function processJobs(topic: string, count: number): Promise<Job[]> {
    return new Promise((resolve, reject) => {
      const done: Job[] = [];
      const worker = new Worker(
        topic,
        async (job) => {
          done.push(job);
          if (done.length === count) resolve(done);
        },
        { connection: { url: stackEnv().redisUrl, maxRetriesPerRequest: null }, prefix, concurrency: 1 },
      );
      worker.on('error', reject);
      closers.push(() => worker.close());
      setTimeout(() => reject(new Error(`only ${done.length}/${count} jobs processed`)), 20_000).unref();
    });
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
    for (const close of closers.splice(0).reverse()) await close();
  });

  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    await admin?.quit();
  });

  it('declares delay and priority', () => {
    expect(hasScheduling(newBackend())).toBe(true);
  });

  it('adds one job per message with the envelope intact, job name = type', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    await backend.ensureTopic(topic);
    const json = {
      ...envelope(topic, 1),
      datacontenttype: 'application/json',
      data: Buffer.from('{"a":[1,2]}'),
    };
    const batch = [envelope(topic, 0, { trace: 'x' }), json, envelope(topic, 2)];
    const outcomes = await backend.publish(batch);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);

    const jobs = await processJobs(topic, 3);
    expect(jobs.map((j) => decodeJobData(j.data).id)).toEqual(batch.map((e) => e.id));
    jobs.forEach((job, i) => {
      const env = decodeJobData(job.data);
      expect(env).toEqual({ ...batch[i], subject: undefined, traceparent: undefined });
      expect(env.data.equals(batch[i]!.data)).toBe(true);
      expect(job.name).toBe('test.job');
      expect(outcomes[i]).toEqual({ ok: true, receipt: { offset: job.id } });
    });
    // JSON payloads stay readable text in the job; binary ones are base64.
    expect(jobs[1]!.data).toMatchObject({ data: '{"a":[1,2]}', dataEncoding: 'utf8' });
    expect(jobs[0]!.data).toMatchObject({ dataEncoding: 'base64' });
  });

  it('makes one job of a message published twice (same id), also within one batch', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    const msg = envelope(topic, 1);
    const first = await backend.publish([msg]);
    const again = await backend.publish([msg, { ...msg, attempt: 2 }]);
    expect([...first, ...again].every((o) => o.ok)).toBe(true);
    const offsets = [...first, ...again].map((o) => (o.ok ? o.receipt.offset : undefined));
    expect(new Set(offsets)).toEqual(new Set([jobIdOf(msg.id)]));
    const counts = await queueOf(topic).getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('accepts ids BullMQ would refuse as job ids (integers, colons) and maps them one to one', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    const ids = ['42', '-7', 'a:b', 'a%3Ab', `${randomUUID()}:x`];
    const outcomes = await backend.publish(ids.map((id, n) => envelope(topic, n, {}, id)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const jobIds = outcomes.map((o) => (o.ok ? o.receipt.offset : ''));
    expect(new Set(jobIds).size).toBe(ids.length);
    expect(jobIds.map((j) => messageIdOf(j!))).toEqual(ids);
    const queue = queueOf(topic);
    for (const [i, jobId] of jobIds.entries()) {
      const job = await queue.getJob(jobId!);
      expect(decodeJobData(job?.data).id).toBe(ids[i]);
    }
  });

  it('processes by priority (1 first) and keeps a delayed job in the delayed set', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    const priorities = [5, 1, 4, 2, 3];
    const batch = priorities.map((p, n) => envelope(topic, n, { priority: String(p) }));
    const delayed = envelope(topic, 9, { 'delay-ms': '60000' });
    const outcomes = await backend.publish([...batch, delayed]);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const queue = queueOf(topic);
    expect(await queue.getJobState(jobIdOf(delayed.id))).toBe('delayed');
    expect((await queue.getJob(jobIdOf(delayed.id)))?.opts.delay).toBe(60_000);

    const jobs = await processJobs(topic, 5);
    expect(jobs.map((j) => j.opts.priority)).toEqual([1, 2, 3, 4, 5]);
    expect(await queue.getJobState(jobIdOf(delayed.id))).toBe('delayed');
  });

  it('runs a short-delayed job no earlier than its delay', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    const [outcome] = await backend.publish([envelope(topic, 1, { 'delay-ms': '400' })]);
    expect(outcome?.ok).toBe(true);
    const [job] = await processJobs(topic, 1);
    expect(job!.processedOn! - job!.timestamp).toBeGreaterThanOrEqual(400);
  });

  it('rejects invalid delay-ms / priority per message, not retriable, and adds the rest', async () => {
    const backend = newBackend();
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    const bad: Record<string, string>[] = [
      { 'delay-ms': 'soon' },
      { 'delay-ms': '-5' },
      { priority: '1.5' },
      { priority: '99999999' },
    ];
    const outcomes = await backend.publish([
      envelope(topic, 0),
      ...bad.map((h, n) => envelope(topic, n + 1, h)),
    ]);
    expect(outcomes[0]?.ok).toBe(true);
    for (const o of outcomes.slice(1)) {
      expect(o).toMatchObject({
        ok: false,
        error: { code: 'MQGATE_ERR_BACKEND_REJECTED', retriable: false },
      });
    }
    const counts = await queueOf(topic).getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('fails fast and retriably when Redis is unreachable', async () => {
    const backend = new BullmqBackend({ ...config('redis://127.0.0.1:1') }, silent);
    closers.push(() => backend.close());
    let t0 = performance.now();
    await expect(backend.connect()).rejects.toMatchObject({
      code: 'MQGATE_ERR_BACKEND_UNAVAILABLE',
      retriable: true,
    });
    expect(performance.now() - t0).toBeLessThan(7_000);
    t0 = performance.now();
    const outcomes = await backend.publish([envelope('t-x', 1), envelope('t-y', 2)]);
    expect(performance.now() - t0).toBeLessThan(500);
    for (const o of outcomes) expect(o).toMatchObject({ ok: false, error: { retriable: true } });
    await expect(backend.probe()).rejects.toMatchObject({ retriable: true });
  });

  it('reports a dropped connection as retriable and recovers by itself', async () => {
    const cfg = config(stackEnv().redisUrl);
    const backend = new BullmqBackend(cfg, silent);
    closers.push(() => backend.close());
    await backend.connect();
    const topic = `t-${randomUUID()}`;
    expect((await backend.publish([envelope(topic, 0)]))[0]?.ok).toBe(true);
    // Kill only this backend's connection (by its client name): the stack is shared.
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=mqgate:${cfg.name} `));
    const clientId = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(clientId).toBeDefined();
    expect(await admin.client('KILL', 'ID', clientId!)).toBe(1);
    const [during] = await backend.publish([envelope(topic, 1)]);
    if (!during?.ok) expect(during?.error.retriable).toBe(true);

    const deadline = Date.now() + 10_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = (await backend.publish([envelope(topic, 2)]))[0]?.ok ?? false;
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
    await expect(backend.probe()).resolves.toBeUndefined();
  });

  it('probes, closes idempotently, and refuses work after close', async () => {
    const backend = newBackend();
    await backend.close(); // before connect
    const other = newBackend();
    await other.connect();
    await expect(other.probe()).resolves.toBeUndefined();
    const topic = `t-${randomUUID()}`;
    expect((await other.publish([envelope(topic, 1)]))[0]?.ok).toBe(true);
    await Promise.all([other.close(), other.close()]);
    await other.close();
    const [after] = await other.publish([envelope(topic, 2)]);
    expect(after).toMatchObject({ ok: false, error: { retriable: true } });
    await expect(other.connect()).rejects.toMatchObject({ retriable: true });
  });
});
