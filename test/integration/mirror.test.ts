import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway.js';
import { kafkaReader, redisReader } from '../helpers/broker-readers.js';
import { eventually, pool } from '../helpers/gateway-process.js';
import { stackEnv } from '../helpers/stack-env.js';

const MESSAGES = 300;
const KEYS = 10;

describe('mirror route: every message to every backend of the route', () => {
  let gateway: Gateway;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-mirror-'));

  beforeAll(async () => {
    const env = stackEnv();
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db'), maxBytes: '64mb', retention: '1h' },
      backends: {
        kafka: { type: 'kafka', brokers: env.kafkaBrokers, partitions: 3 },
        redis: { type: 'redis', url: env.redisUrl, partitions: 3 },
      },
      routes: [{ match: '*', backends: ['kafka', 'redis'], mode: 'mirror' }],
      relay: { pollInterval: '10ms' },
    });
    gateway = await Gateway.create(config, { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers each message to both backends, in per-key order on each, and says so per backend', async () => {
    const topic = `t-mirror-${randomUUID()}`;
    const ids = await pool(MESSAGES, 20, async (i) => {
      const res = await fetch(`${url}/v1/topics/${topic}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: `mi-${i}`, key: `k-${i % KEYS}`, data: { i } }),
      });
      expect(res.status).toBe(202);
      return `mi-${i}`;
    });
    await eventually(async () => (await gateway.outbox.stats()).depth === 0, 60_000, 'the outbox to drain');
    const env = stackEnv();
    for (const read of [kafkaReader(env.kafkaBrokers), redisReader(env.redisUrl, 3)]) {
      const got = await read(topic, MESSAGES, 30_000);
      expect(new Set(got.map((e) => e.id))).toEqual(new Set(ids));
      const byKey = new Map<string, number[]>();
      for (const e of got) byKey.set(e.key!, [...(byKey.get(e.key!) ?? []), e.seq]);
      for (const seqs of byKey.values()) {
        const first = seqs.filter((s, i) => seqs.indexOf(s) === i);
        expect(first).toEqual(Array.from({ length: MESSAGES / KEYS }, (_, i) => i + 1));
      }
    }
    const status = (await (await fetch(`${url}/v1/messages/mi-0`)).json()) as {
      status: string;
      backend: string;
      deliveries: Record<string, { at: number }>;
    };
    expect(status.status).toBe('delivered');
    expect(status.backend).toBe('kafka,redis');
    expect(Object.keys(status.deliveries).sort()).toEqual(['kafka', 'redis']);
  });
});
