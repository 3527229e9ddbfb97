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
import { Consumer, type DeadLetterEvent, NonRetriableError } from '../../src/sdk/index.js';
import { keyedEnvelopes, publishAll, seqs } from '../helpers/sdk-member.js';
import { cleanRedis, PARTITIONS, rawConfig, redisEntry } from '../helpers/sdk-stack.js';
import { stackEnv } from '../helpers/stack-env.js';

describe('SDK consumer: for await (const msg of consumer) with ack() / nack() (Redis)', () => {
  const topics: string[] = [];
  const groups: string[] = [];
  let url: string;
  let config: Config;
  let backend: Backend;

  beforeAll(async () => {
    url = stackEnv().redisUrl;
    config = parseConfig(rawConfig({ redis: redisEntry(url) }));
    backend = await createBackend(config.backends.redis!, pino({ level: 'silent' }));
    await backend.connect();
  });

  afterAll(async () => {
    await backend?.close();
    await cleanRedis(url, topics, groups);
  });

  it('ack handles, nack retries, nack(NonRetriableError) dead-letters; leaving the loop closes', async () => {
    const topic = `sdk-it-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic, `${topic}.dlq`);
    groups.push(group);
    await backend.ensureTopic(topic);
    const sent = keyedEnvelopes(topic, 5, 10);
    const flaky = sent[12]!; // nacked once, then acked
    const poison = sent[31]!; // nacked with a NonRetriableError
    const consumer = new Consumer({
      config,
      group,
      topics: [topic],
      concurrency: 4,
      retry: { maxAttempts: 3, initialMs: 10, maxMs: 50 },
      logger: pino({ level: 'silent' }),
    });
    const deadLetters: DeadLetterEvent[] = [];
    consumer.on('dead-letter', (e) => deadLetters.push(e));
    await publishAll(backend, sent);
    const acked: { id: string; key: string; seq: number; attempt: number }[] = [];
    const nacked: string[] = [];
    const expected = sent.length - 1;
    const deadline = Date.now() + 60_000;
    for await (const msg of consumer) {
      expect(Date.now(), `${acked.length}/${expected} acked`).toBeLessThan(deadline);
      if (msg.id === flaky.id && msg.attempt === 1) {
        nacked.push(msg.id);
        msg.nack(new Error('not yet'));
      } else if (msg.id === poison.id) {
        nacked.push(msg.id);
        msg.nack(new NonRetriableError('never'));
      } else {
        acked.push({ id: msg.id, key: msg.key!, seq: msg.seq, attempt: msg.attempt });
        msg.ack();
      }
      if (acked.length === expected && deadLetters.length === 1) break;
    }
    // Leaving the loop closed the consumer: close() again returns at once, and Redis has every entry acked.
    await consumer.close({ timeoutMs: 1_000 });
    expect(nacked.sort()).toEqual([flaky.id, poison.id].sort());
    expect(acked.find((a) => a.id === flaky.id)?.attempt).toBe(2);
    expect(new Set(acked.map((a) => a.id))).toEqual(
      new Set(sent.filter((e) => e !== poison).map((e) => e.id)),
    );
    expect(acked.length).toBe(expected);
    expect(deadLetters.map((d) => [d.message.id, d.topic, String(d.error)])).toEqual([
      [poison.id, `${topic}.dlq`, 'NonRetriableError: never'],
    ]);
    for (let k = 0; k < 5; k++) {
      const order = acked.filter((a) => a.key === `k${k}`).map((a) => a.seq);
      const skipped = poison.key === `k${k}` ? poison.seq : 0;
      expect(order, `k${k}`).toEqual(seqs(10).filter((s) => s !== skipped));
    }
    const admin = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      for (const stream of streamKeys(topic, PARTITIONS)) {
        const [pending] = (await admin.xpending(stream, streamGroupName(group))) as [number];
        expect(Number(pending), `${stream} pending`).toBe(0);
      }
    } finally {
      admin.disconnect();
    }
  });
});
