import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../adapters/index.js';
import { RabbitmqBackend, topologyNames } from '../../adapters/rabbitmq/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { RabbitmqBackendConfig } from '../../src/config/types.js';
import type { Backend } from '../../src/ports/backend.js';
import { rabbitmqReader } from '../helpers/broker-readers.js';
import { keyedEnvelopes, publishAll, type SdkMember, seqs } from '../helpers/sdk-member.js';
import { deadLetterScenario, joinScenario, killScenario, type SdkFixture } from '../helpers/sdk-scenarios.js';
import { cleanRabbit, EXCHANGE, PARTITIONS, rabbitEntry, rawConfig } from '../helpers/sdk-stack.js';
import { stackEnv } from '../helpers/stack-env.js';

/** Takeover within about 5 s with the default 4 s session timeout; 15 s of slack for a loaded machine. */
const TAKEOVER_BOUND_MS = 20_000;

describe('SDK consumer on RabbitMQ (members as child processes)', () => {
  const topics: string[] = [];
  const groups: string[] = [];
  const members: SdkMember[] = [];
  let url: string;
  let publisher: Backend;
  let dir: string;
  let fx: SdkFixture;

  const names = () => {
    const topic = `sdk-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic, `${topic}.dlq`);
    groups.push(group);
    return { topic, group };
  };

  beforeAll(async () => {
    url = stackEnv().rabbitmqUrl;
    const raw = rawConfig({ rabbit: rabbitEntry(url) });
    const config = parseConfig(raw);
    publisher = await createBackend(config.backends.rabbit!, pino({ level: 'silent' }));
    await publisher.connect();
    dir = mkdtempSync(join(tmpdir(), 'sdk-rabbitmq-'));
    fx = {
      label: 'sdk-rabbitmq',
      publisher,
      config,
      member: { config: raw },
      partitions: PARTITIONS,
      read: rabbitmqReader(url, EXCHANGE, PARTITIONS),
      dir,
      members,
    };
  });

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()));
    await publisher?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cleanRabbit(url, topics, groups);
  });

  it('3 members, 3,000 messages over 30 keys, one SIGKILLed halfway: all handled in order, taken over', async () => {
    const { topic, group } = names();
    const takeoverMs = await killScenario(fx, topic, group);
    expect(takeoverMs).toBeLessThan(TAKEOVER_BOUND_MS);
  });

  it('a handler that always throws for one id: dead-lettered with its error, the rest flows', async () => {
    const { topic, group } = names();
    await deadLetterScenario(fx, topic, group);
  });

  it('a member joining mid-stream: rebalance without double handling', async () => {
    const { topic, group } = names();
    await joinScenario(fx, topic, group);
  });

  it('a message rejected beyond the quorum queue delivery limit is parked in E.dead-letter, not dropped', async () => {
    const { topic, group } = names();
    const DELIVERY_LIMIT = 3;
    const config: RabbitmqBackendConfig = { name: 'rabbit', ...rabbitEntry(url) } as RabbitmqBackendConfig;
    // Its own backend: the topic's queues are declared with this delivery limit (RabbitMQ refuses to
    // redeclare a queue with other arguments, so the same backend publishes and subscribes).
    const backend = new RabbitmqBackend(config, pino({ level: 'silent' }), { deliveryLimit: DELIVERY_LIMIT });
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    const dlx = topologyNames(EXCHANGE);
    // A queue of the test's own on the dead-letter exchange, beside the catch-all E.dead-letter.
    const { queue: tap } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(tap, dlx.deadLetterExchange, `${topic}.*`);
    const sent = keyedEnvelopes(topic, 3, 10);
    const poison = sent[4]!; // k1, seq 2: later messages of its key and partition come after it
    const deliveries: number[] = [];
    const handled: string[] = [];
    await backend.connect();
    const sub = await backend.subscribe({
      group,
      topics: [topic],
      onMessage: async ({ envelope }) => {
        if (envelope.id === poison.id) {
          deliveries.push(Date.now());
          throw new Error('poison');
        }
        handled.push(envelope.id);
      },
    });
    try {
      await publishAll(backend, sent);
      const deadline = Date.now() + 60_000;
      let parked: amqp.GetMessage | false = false;
      while (parked === false || handled.length < sent.length - 1) {
        expect(Date.now(), `dead-lettered: ${parked !== false}, handled ${handled.length}`).toBeLessThan(
          deadline,
        );
        if (parked === false) parked = await ch.get(tap, { noAck: true });
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(parked.properties.messageId).toBe(poison.id);
      expect(parked.content.equals(poison.data)).toBe(true);
      const deaths = (parked.properties.headers?.['x-death'] ?? []) as { reason: string }[];
      const death = deaths[0];
      expect(death?.reason).toBe('delivery_limit');
      // Delivered once, then again after each rejection until the count went over the limit.
      expect(deliveries.length).toBeGreaterThanOrEqual(DELIVERY_LIMIT);
      expect(deliveries.length).toBeLessThanOrEqual(DELIVERY_LIMIT + 1);
      expect(new Set(handled)).toEqual(new Set(sent.filter((e) => e !== poison).map((e) => e.id)));
      const k1 = handled.filter((id) => id.includes('-k1-')).map((id) => Number(id.split('-').at(-1)));
      expect(k1).toEqual(seqs(10).filter((s) => s !== 2));
      // The catch-all queue holds it too: taken out by id (others' messages go back when the channel closes).
      await ch.prefetch(1_000);
      const found = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 10_000);
        const take = (msg: amqp.ConsumeMessage | null) => {
          if (msg?.properties.messageId !== poison.id) return;
          ch.ack(msg);
          clearTimeout(timer);
          resolve(true);
        };
        ch.consume(dlx.deadLetterQueue, take).catch(() => resolve(false));
      });
      expect(found, `${poison.id} in ${dlx.deadLetterQueue}`).toBe(true);
    } finally {
      await sub.close();
      await backend.close();
      await conn.close();
    }
  });
});
