import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupQueueName, parkingQueueName, RabbitmqBackend } from '../../adapters/rabbitmq/index.js';
import { heartbeatExchangeName } from '../../adapters/rabbitmq/membership.js';
import type { RabbitmqBackendConfig } from '../../src/config/types.js';
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

describe('rabbitmq consumer groups (real RabbitMQ, members as child processes)', () => {
  let backend: RabbitmqBackend;
  let fx: GroupFixture;
  let config: RabbitmqBackendConfig;
  const used: { topic: string; group: string }[] = [];

  const names = () => {
    const pair = { topic: `t-${randomUUID()}`, group: `g-${randomUUID()}` };
    used.push(pair);
    return pair;
  };

  beforeAll(async () => {
    config = {
      name: 'rabbit',
      type: 'rabbitmq',
      urls: [stackEnv().rabbitmqUrl],
      partitions: PARTITIONS,
      queueType: 'quorum',
      exchange: 'mqgate',
    };
    backend = new RabbitmqBackend(config, pino({ level: 'silent' }), TIMING);
    await backend.connect();
    fx = { backend, partitions: PARTITIONS, member: { backend: config, timing: TIMING } };
  });

  afterAll(async () => {
    await backend?.close();
    const admin = await connect(stackEnv().rabbitmqUrl);
    try {
      const ch = await admin.createChannel();
      for (const { topic, group } of used) {
        for (let p = 0; p < PARTITIONS; p++) {
          await ch.deleteQueue(groupQueueName(config.exchange, topic, p, group));
          await ch.deleteQueue(parkingQueueName(config.exchange, topic, p));
        }
        await ch.deleteExchange(heartbeatExchangeName(config.exchange, group));
      }
    } finally {
      await admin.close();
    }
  });

  it('3 members, 3,000 messages over 30 keys, one SIGKILLed halfway, then a fourth joins', async () => {
    const { topic, group } = names();
    const takeoverMs = await killAndJoinScenario(fx, topic, group);
    console.log(
      `[rabbitmq-groups] kill-to-takeover ${takeoverMs} ms (session timeout ${TIMING.sessionTimeoutMs} ms)`,
    );
    expect(takeoverMs).toBeLessThan(5_000);
  });

  it('handles messages published before the group existed (moved from the parking queues)', async () => {
    const { topic, group } = names();
    await lateGroupScenario(fx, topic, group);
  });

  it('redelivers a rejected message before the later ones of its partition', async () => {
    const { topic, group } = names();
    await rejectScenario(fx, topic, group);
  });
});
