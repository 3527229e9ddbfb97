import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import type { Envelope } from '../../src/envelope.js';
import { Gateway } from '../../src/gateway.js';
import { type BrokerReader, kafkaReader, rabbitmqReader, redisReader } from '../helpers/broker-readers.js';
import { eventually, pool } from '../helpers/gateway-process.js';
import { stackEnv } from '../helpers/stack-env.js';

const MESSAGES = 2_000;
const CLIENTS = 50;
const KEYS = 20;
const PARTITIONS = 4;

interface Case {
  name: string;
  backend: () => Record<string, unknown>;
  reader: () => BrokerReader;
}

const exchange = `t-ex-${randomUUID()}`;
const cases: Case[] = [
  {
    name: 'kafka',
    backend: () => ({ type: 'kafka', brokers: stackEnv().kafkaBrokers, partitions: PARTITIONS }),
    reader: () => kafkaReader(stackEnv().kafkaBrokers),
  },
  {
    name: 'rabbitmq',
    backend: () => ({ type: 'rabbitmq', urls: [stackEnv().rabbitmqUrl], partitions: PARTITIONS, exchange }),
    reader: () => rabbitmqReader(stackEnv().rabbitmqUrl, exchange, PARTITIONS),
  },
  {
    name: 'redis',
    backend: () => ({ type: 'redis', url: stackEnv().redisUrl, partitions: PARTITIONS }),
    reader: () => redisReader(stackEnv().redisUrl, PARTITIONS),
  },
];

describe.each(cases)('publish over HTTP to $name', ({ name, backend, reader }) => {
  let gateway: Gateway;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), `mqgate-e2e-${name}-`));

  beforeAll(async () => {
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db'), maxBytes: '256mb', retention: '1h' },
      backends: { [name]: backend() },
      routes: [{ match: '*', backends: [name], mode: 'failover' }],
      failover: { failureThreshold: 3, probeInterval: '200ms', openFor: '1s', failbackAfter: '5s' },
      relay: { pollInterval: '10ms', backoffInitial: '50ms', backoffMax: '1s' },
    });
    gateway = await Gateway.create(config, { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`delivers ${MESSAGES} messages from ${CLIENTS} concurrent clients exactly as sent, in per-key order`, async () => {
    const topic = `t-e2e-${randomUUID()}`;
    const sent = new Map<
      string,
      { key: string; data: Buffer; headers: Record<string, string>; seq: number }
    >();
    await pool(MESSAGES, CLIENTS, async (i) => {
      const id = `m-${i}-${randomUUID()}`;
      const key = `k-${i % KEYS}`;
      const data = randomBytes(16 + (i % 200)); // arbitrary bytes, not valid UTF-8
      const headers = { n: String(i), tenant: `acme-${i % 3}` };
      const res = await fetch(`${url}/v1/topics/${topic}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, key, headers, data_base64: data.toString('base64'), type: 'test.e2e' }),
      });
      expect(res.status).toBe(202);
      const { seq } = (await res.json()) as { seq: number };
      sent.set(id, { key, data, headers, seq });
    });

    await eventually(async () => (await gateway.outbox.stats()).depth === 0, 120_000, 'the outbox to drain');
    const received = await reader()(topic, MESSAGES, 60_000);

    const firstCopy = new Map<string, Envelope>();
    for (const env of received) if (!firstCopy.has(env.id)) firstCopy.set(env.id, env);
    expect(firstCopy.size).toBe(MESSAGES);
    for (const [id, env] of firstCopy) {
      const want = sent.get(id);
      expect(want, `unexpected id ${id}`).toBeDefined();
      expect(env.key).toBe(want!.key);
      expect(env.seq).toBe(want!.seq);
      expect(env.headers).toEqual(want!.headers);
      expect(env.type).toBe('test.e2e');
      expect(Buffer.compare(env.data, want!.data), `data of ${id}`).toBe(0);
    }
    // Per key, the broker holds seq 1..n in order (a resent duplicate may repeat an earlier seq, never skip).
    const byKey = new Map<string, number[]>();
    for (const env of received) byKey.set(env.key!, [...(byKey.get(env.key!) ?? []), env.seq]);
    for (const [key, seqs] of byKey) {
      const firstSeen = seqs.filter((s, i) => seqs.indexOf(s) === i);
      expect(firstSeen, key).toEqual(Array.from({ length: MESSAGES / KEYS }, (_, i) => i + 1));
    }
    const [someId] = sent.keys();
    const status = await (await fetch(`${url}/v1/messages/${someId}`)).json();
    expect(status).toMatchObject({ id: someId, status: 'delivered', backend: name });
  });
});
