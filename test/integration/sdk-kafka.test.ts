import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBackend } from '../../adapters/kafka/index.js';
import { kafkaGroupId } from '../../adapters/kafka/subscriber.js';
import { parseConfig } from '../../src/config/index.js';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import { kafkaReader } from '../helpers/broker-readers.js';
import { keyedEnvelopes, publishAll, type SdkMember } from '../helpers/sdk-member.js';
import { deadLetterScenario, joinScenario, killScenario, type SdkFixture } from '../helpers/sdk-scenarios.js';
import { stackEnv } from '../helpers/stack-env.js';

const SESSION_TIMEOUT_MS = 6_000; // the broker's group.min.session.timeout.ms

describe('SDK consumer on Kafka (members as child processes)', () => {
  const members: SdkMember[] = [];
  let brokers: string[];
  let backend: KafkaBackend;
  let dir: string;
  let fx: SdkFixture;
  const names = () => ({ topic: `sdk-${randomUUID()}`, group: `g-${randomUUID()}` });

  beforeAll(async () => {
    brokers = stackEnv().kafkaBrokers;
    const config: KafkaBackendConfig = {
      name: 'kafka',
      type: 'kafka',
      brokers,
      partitions: 6,
      replicationFactor: 1,
      clientId: 'sdk-test',
      ssl: false,
    };
    backend = new KafkaBackend(config, pino({ level: 'silent' }));
    await backend.connect();
    dir = mkdtempSync(join(tmpdir(), 'sdk-kafka-'));
    fx = {
      label: 'sdk-kafka',
      publisher: backend,
      config: parseConfig({
        backends: { kafka: { type: 'kafka', brokers, partitions: 6 } },
        routes: [{ match: '*', backends: ['kafka'], mode: 'failover' }],
      }),
      member: { brokers, sessionTimeoutMs: SESSION_TIMEOUT_MS },
      partitions: 6,
      read: kafkaReader(brokers),
      dir,
      members,
    };
  });

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()));
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    // Topics and groups are unique per test; delete the topics so the shared broker does not fill up.
    const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith('sdk-'));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('the port: offsets committed in batches, never past a rejected message, which comes again first; close commits the rest', async () => {
    const { topic, group } = names();
    await backend.ensureTopic(topic);
    const sent = keyedEnvelopes(topic, 60, 20); // 1,200 messages, every partition well past offset 20
    await publishAll(backend, sent);
    const REJECTED = '20';
    /** Offsets in the order onMessage saw them, per partition. */
    const seen = new Map<number, string[]>();
    /** Partitions whose offset 20 was handled (its second delivery resolved). */
    const handledRejected = new Set<number>();
    let calls = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const sub = await backend.subscribe({
      group,
      topics: [topic],
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      onMessage: async ({ partition, offset }) => {
        const p = partition as number;
        const list = seen.get(p) ?? [];
        seen.set(p, list);
        list.push(offset as string);
        calls++;
        const first = list.filter((o) => o === REJECTED).length === 1;
        if (offset === REJECTED && first) throw new Error('rejected once');
        if (offset === REJECTED) handledRejected.add(p);
        if (calls === sent.length + 6) resolveAll();
      },
    });
    const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    /** Committed offsets seen past offset 20 of a partition whose offset 20 was not handled yet. */
    const violations: string[] = [];
    let polls = 0;
    let commitsSeenMidRun = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const [res] = await admin.fetchOffsets({ groupId: kafkaGroupId(group), topics: [topic] });
        polls++;
        for (const { partition, offset } of res?.partitions ?? []) {
          if (Number(offset) > 0 && calls < sent.length) commitsSeenMidRun++;
          if (Number(offset) > Number(REJECTED) && !handledRejected.has(partition)) {
            violations.push(
              `partition ${partition} committed ${offset} before offset ${REJECTED} was handled`,
            );
          }
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      await Promise.race([
        all,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${calls} calls`)), 60_000)),
      ]);
    } finally {
      polling = false;
      await poller;
      await sub.close();
    }
    expect(violations).toEqual([]);
    expect(polls).toBeGreaterThan(0);
    // Each partition: 0..20, 20 again (the redelivery, before 21), then the rest in order, each once.
    expect(seen.size).toBe(6);
    for (const [p, offsets] of seen) {
      const n = offsets.length - 1;
      const expected = [...Array.from({ length: 21 }, (_, i) => String(i)), REJECTED];
      for (let i = 21; i < n; i++) expected.push(String(i));
      expect(offsets, `order of partition ${p}`).toEqual(expected);
    }
    // close() committed everything that was handled: a new member of the group has nothing left to read.
    const [committed] = await admin.fetchOffsets({ groupId: kafkaGroupId(group), topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const end = new Map(ends.map((e) => [e.partition, e.high]));
    for (const { partition, offset } of committed?.partitions ?? []) {
      expect(offset, `committed offset of partition ${partition}`).toBe(end.get(partition));
    }
    console.log(
      `[sdk-kafka] port: ${polls} offset polls, committed offsets seen mid-run ${commitsSeenMidRun} times`,
    );
  });

  it('the port: a handler longer than the session timeout keeps the partitions (heartbeats while it runs)', async () => {
    const { topic, group } = names();
    await backend.ensureTopic(topic);
    const sent = keyedEnvelopes(topic, 12, 5); // 60 messages
    await publishAll(backend, sent);
    const ids: string[] = [];
    let revokedMidRun = 0;
    let slow = true;
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const sub = await backend.subscribe({
      group,
      topics: [topic],
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      onRevoke: () => {
        if (ids.length < sent.length) revokedMidRun++;
      },
      onMessage: async ({ envelope }) => {
        if (slow) {
          slow = false;
          await new Promise((r) => setTimeout(r, SESSION_TIMEOUT_MS + 3_000));
        }
        ids.push(envelope.id);
        if (new Set(ids).size === sent.length) resolveAll();
      },
    });
    try {
      await Promise.race([
        all,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${ids.length} handled`)), 60_000)),
      ]);
    } finally {
      await sub.close();
    }
    // Had the heartbeats stopped, the broker would have expired the member during the slow handler: a
    // rejoin (onRevoke) and the slow message's batch delivered again.
    expect(revokedMidRun).toBe(0);
    expect(ids.length).toBe(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent.map((e) => e.id)));
  });

  it('3 members, 3,000 messages over 30 keys, one SIGKILLed halfway: all handled, per-key order, takeover', async () => {
    const { topic, group } = names();
    const takeoverMs = await killScenario(fx, topic, group);
    expect(takeoverMs).toBeLessThan(SESSION_TIMEOUT_MS + 10_000);
  });

  it('a handler that always throws for one id: dead-lettered with its error, the rest flows', async () => {
    const { topic, group } = names();
    await deadLetterScenario(fx, topic, group);
  });

  it('a member joining mid-stream: rebalance without double handling of acknowledged messages', async () => {
    const { topic, group } = names();
    await joinScenario(fx, topic, group);
  });
});
