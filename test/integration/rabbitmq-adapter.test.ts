import { randomUUID } from 'node:crypto';
import { type Channel, type ChannelModel, connect, type GetMessage } from 'amqplib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decode } from '../../adapters/rabbitmq/codec.js';
import { resolveConfig } from '../../adapters/rabbitmq/config.js';
import {
  declareGroupQueue,
  groupQueueName,
  parkingQueueName,
  RabbitmqBackend,
  type RabbitmqOptions,
  topologyNames,
} from '../../adapters/rabbitmq/index.js';
import type { RabbitmqBackendConfig } from '../../src/config/types.js';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';
import type { PublishOutcome } from '../../src/ports/backend.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 4;
const silent = pino({ level: 'silent' });

function config(urls: string[]): RabbitmqBackendConfig {
  return {
    name: `rabbit-${randomUUID()}`,
    type: 'rabbitmq',
    urls,
    partitions: PARTITIONS,
    queueType: 'quorum',
    exchange: `t-${randomUUID()}`,
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

function okCount(outcomes: readonly PublishOutcome[]): number {
  return outcomes.filter((o) => o.ok).length;
}

/** Everything currently in a queue, taken with basic.get (acked). */
/**
 * Takes every message the queue holds now. Through a consumer, not basic.get: group queues are quorum
 * queues with single-active-consumer, which refuse basic.get (405 RESOURCE_LOCKED).
 */
async function drain(channel: Channel, queue: string): Promise<GetMessage[]> {
  const { messageCount } = await channel.checkQueue(queue);
  const out: GetMessage[] = [];
  if (messageCount === 0) return out;
  let tag: string | undefined;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`drain ${queue}: ${out.length}/${messageCount}`)),
      15_000,
    );
    channel
      .consume(
        queue,
        (msg) => {
          if (msg === null) return;
          out.push(msg as unknown as GetMessage);
          if (out.length >= messageCount) {
            clearTimeout(timer);
            resolve();
          }
        },
        { noAck: true },
      )
      .then((ok) => (tag = ok.consumerTag), reject);
  });
  if (tag !== undefined) await channel.cancel(tag);
  return out;
}

describe('rabbitmq adapter', () => {
  let admin: ChannelModel;
  let channel: Channel;
  const backends: RabbitmqBackend[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  /** A backend on a fresh exchange; its queues and exchanges are deleted after the test. */
  function backend(
    options: Partial<RabbitmqOptions> = {},
    urls = [stackEnv().rabbitmqUrl],
    topics: string[] = [],
  ) {
    const cfg = config(urls);
    const b = new RabbitmqBackend(cfg, silent, options);
    backends.push(b);
    const names = topologyNames(cfg.exchange);
    cleanups.push(async () => {
      const ch = await admin.createChannel();
      ch.on('error', () => {});
      for (const topic of topics) {
        for (let p = 0; p < PARTITIONS; p++) {
          await ch.deleteQueue(parkingQueueName(cfg.exchange, topic, p));
          await ch.deleteQueue(groupQueueName(cfg.exchange, topic, p, 'g'));
        }
      }
      await ch.deleteQueue(names.deadLetterQueue);
      for (const ex of [names.exchange, names.unrouted, names.deadLetterExchange])
        await ch.deleteExchange(ex);
      await ch.close();
    });
    return { backend: b, cfg, names };
  }

  beforeAll(async () => {
    admin = await connect(stackEnv().rabbitmqUrl, { timeout: 5000 });
    admin.on('error', () => {});
    channel = await admin.createChannel();
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await admin?.close();
  });

  it('declares the topology idempotently and probes', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b, cfg, names } = backend({}, undefined, [topic]);
    await b.connect();
    await b.ensureTopic(topic);
    await b.ensureTopic(topic);
    await b.probe();
    await channel.checkExchange(names.exchange);
    for (let p = 0; p < PARTITIONS; p++) {
      const q = await channel.checkQueue(parkingQueueName(cfg.exchange, topic, p));
      expect(q.messageCount).toBe(0);
    }
    await expect(b.ensureTopic('.bad')).rejects.toMatchObject({ code: 'MQGATE_ERR_INVALID_TOPIC' });
  });

  it('delivers 500 messages of 10 keys once each, intact, in per-key order', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b, cfg } = backend({}, undefined, [topic]);
    await b.ensureTopic(topic);
    // A consumer group as the SDK will declare it: one queue per partition, bound with `<topic>.<p>`.
    const ch = await admin.createChannel();
    const resolved = resolveConfig(cfg);
    const queues: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) queues.push(await declareGroupQueue(ch, resolved, topic, p, 'g'));

    const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
    const seqs = new Map<string, number>();
    const sent: Envelope[] = [];
    for (let n = 0; n < 500; n++) {
      const key = keys[n % keys.length]!;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      sent.push(envelope(topic, n, key, seq));
    }
    const outcomes: PublishOutcome[] = [];
    for (let i = 0; i < sent.length; i += 100) outcomes.push(...(await b.publish(sent.slice(i, i + 100))));
    expect(okCount(outcomes)).toBe(500);
    outcomes.forEach((o, i) => {
      expect(o).toEqual({ ok: true, receipt: { partition: partitionOf(sent[i]!.key!, PARTITIONS) } });
    });

    const received: { env: Envelope; partition: number }[] = [];
    const all = new Promise<void>((resolve) => {
      for (const [p, queue] of queues.entries()) {
        void ch.consume(queue, (msg) => {
          if (!msg) return;
          received.push({ env: decode(msg), partition: p });
          ch.ack(msg);
          if (received.length === sent.length) resolve();
        });
      }
    });
    await Promise.race([all, new Promise((r) => setTimeout(r, 30_000))]);
    expect(received).toHaveLength(500);

    const byId = new Map(sent.map((e) => [e.id, e]));
    expect(new Set(received.map((r) => r.env.id)).size).toBe(500);
    for (const { env, partition } of received) {
      expect(env).toEqual(byId.get(env.id));
      expect(partition).toBe(partitionOf(env.key!, PARTITIONS));
    }
    for (const key of keys) {
      const order = received.filter((r) => r.env.key === key).map((r) => r.env.seq);
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
    await ch.close();
  });

  it('keeps a message published before any group is bound, in its partition parking queue', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b, cfg } = backend({}, undefined, [topic]);
    // No ensureTopic: publish declares the topic's parking queues itself on first use.
    const early = [envelope(topic, 1, 'k', 1), envelope(topic, 2, 'k', 2)];
    expect(okCount(await b.publish(early))).toBe(2);

    const p = partitionOf('k', PARTITIONS);
    const parked = await drain(channel, parkingQueueName(cfg.exchange, topic, p));
    expect(parked.map((m) => decode(m))).toEqual(early);

    // Once a group binds the partition, new messages go to the group, not to the parking queue.
    const groupQueue = await declareGroupQueue(channel, resolveConfig(cfg), topic, p, 'g');
    const late = envelope(topic, 3, 'k', 3);
    expect(okCount(await b.publish([late]))).toBe(1);
    expect((await drain(channel, groupQueue)).map((m) => decode(m).id)).toEqual([late.id]);
    expect(await drain(channel, parkingQueueName(cfg.exchange, topic, p))).toEqual([]);
  });

  it('fails a returned (unroutable) message retriably, then re-declares and delivers it', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b, cfg } = backend({}, undefined, [topic]);
    await b.ensureTopic(topic);
    const msg = envelope(topic, 1, 'k', 1);
    // Someone deletes the parking queue: nothing takes the message, the broker returns it (mandatory).
    await channel.deleteQueue(parkingQueueName(cfg.exchange, topic, partitionOf('k', PARTITIONS)));
    const [first] = await b.publish([msg]);
    expect(first).toMatchObject({
      ok: false,
      error: { code: 'MQGATE_ERR_BACKEND_REJECTED', retriable: true },
    });
    const [second] = await b.publish([{ ...msg, attempt: 2 }]);
    expect(second?.ok).toBe(true);
    const parked = await drain(channel, parkingQueueName(cfg.exchange, topic, partitionOf('k', PARTITIONS)));
    expect(parked.map((m) => decode(m).id)).toEqual([msg.id]);
  });

  it('refuses a message over the size limit, non-retriably, and delivers its neighbours', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b } = backend({ maxMessageBytes: 4096 }, undefined, [topic]);
    const big = { ...envelope(topic, 2, 'b', 1), data: Buffer.alloc(8192, 1) };
    const outcomes = await b.publish([envelope(topic, 1, 'a', 1), big, envelope(topic, 3, 'c', 1)]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(outcomes[1]).toMatchObject({ error: { code: 'MQGATE_ERR_MESSAGE_TOO_LARGE', retriable: false } });
  });

  it('recovers after the broker closes its channel (exchange deleted under it)', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b, names } = backend({ reconnectBackoffMs: 0 }, undefined, [topic]);
    await b.ensureTopic(topic);
    await channel.deleteExchange(names.exchange);
    // Publishing to a missing exchange: 404 closes the confirm channel; the messages fail, retriable.
    const failed = await b.publish([envelope(topic, 1, 'k', 1)]);
    expect(failed[0]).toMatchObject({ ok: false, error: { retriable: true } });
    // The next publish reconnects, declares the base topology and the topic again, and succeeds.
    expect(okCount(await b.publish([envelope(topic, 2, 'k', 2)]))).toBe(1);
    await b.probe();
  });

  it('tries the URLs in order', async () => {
    const { backend: b } = backend({}, ['amqp://127.0.0.1:1', stackEnv().rabbitmqUrl]);
    await b.connect();
    await b.probe();
  });

  it('fails fast and retriably when no broker answers', async () => {
    const topic = `t-${randomUUID()}`;
    const { backend: b } = backend({}, ['amqp://guest:guest@127.0.0.1:1']);
    const t0 = Date.now();
    const outcomes = await b.publish([envelope(topic, 1, 'k', 1), envelope(topic, 2, 'k', 2)]);
    expect(Date.now() - t0).toBeLessThan(5_000);
    for (const o of outcomes) {
      expect(o).toMatchObject({
        ok: false,
        error: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true },
      });
    }
    const err = await b.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MqgateError);
    expect((err as MqgateError).retriable).toBe(true);
    expect(JSON.stringify((err as MqgateError).toJSON())).not.toContain('guest:guest');
    await expect(b.probe()).rejects.toBeInstanceOf(MqgateError);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('maps refused credentials to a non-retriable error', async () => {
    const url = new URL(stackEnv().rabbitmqUrl);
    url.username = 'guest';
    url.password = `wrong-${randomUUID()}`;
    const { backend: b } = backend({}, [url.toString()]);
    await expect(b.connect()).rejects.toMatchObject({
      code: 'MQGATE_ERR_BACKEND_REJECTED',
      retriable: false,
    });
  });

  it('bounds connect against a peer that never answers the handshake', async () => {
    // A listening socket that accepts and stays silent: only the timeout can end the attempt.
    const { createServer } = await import('node:net');
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const { backend: b } = backend({ connectTimeoutMs: 500 }, [`amqp://127.0.0.1:${port}`]);
      const t0 = Date.now();
      await expect(b.connect()).rejects.toMatchObject({
        code: 'MQGATE_ERR_BACKEND_TIMEOUT',
        retriable: true,
      });
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      server.close();
    }
  });

  it('closes idempotently: before connect, while connecting, twice; publish after close fails retriably', async () => {
    const { backend: idle } = backend();
    await idle.close();
    await idle.close();

    const { backend: b } = backend();
    const connecting = b.connect().catch((e: unknown) => e);
    await b.close();
    await connecting;
    await b.close();
    const [outcome] = await b.publish([envelope(`t-${randomUUID()}`, 1, 'k', 1)]);
    expect(outcome).toMatchObject({ ok: false, error: { retriable: true } });
  });
});
