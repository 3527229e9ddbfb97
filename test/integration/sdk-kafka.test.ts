import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaBackend } from '../../adapters/kafka/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { KafkaBackendConfig } from '../../src/config/types.js';
import { kafkaReader } from '../helpers/broker-readers.js';
import type { SdkMember } from '../helpers/sdk-member.js';
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
