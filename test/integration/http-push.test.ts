import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway.js';
import { eventually } from '../helpers/gateway-process.js';
import { publishMany } from '../helpers/pull-client.js';
import { pushEndpoint, type Received } from '../helpers/push-endpoint.js';
import { stackEnv } from '../helpers/stack-env.js';

const json = { 'content-type': 'application/json' };

describe('push subscriptions (redis route, one gateway)', () => {
  let gateway: Gateway;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-push-'));
  const config = () =>
    parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db') },
      backends: { redis: { type: 'redis', url: stackEnv().redisUrl, partitions: 3 } },
      routes: [{ match: '*', backends: ['redis'] }],
      relay: { pollInterval: '10ms' },
      subscriptions: [
        { name: 'from-config', topics: ['t-push-config-only'], endpoint: 'http://127.0.0.1:9/x' },
      ],
    });

  beforeAll(async () => {
    gateway = await Gateway.create(config(), { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const subscribe = async (body: object) => {
    const res = await fetch(`${url}/v1/subscriptions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(201);
  };
  const ids = (rs: readonly Received[]) => rs.map((r) => String(r.headers['ce-id']));

  it('delivers every message to an endpoint that fails, then recovers, in per-key order', async () => {
    const topic = `t-push-${randomUUID()}`;
    let failing = true;
    const endpoint = await pushEndpoint((_req, all) => {
      if (all.length >= 15) failing = false;
      return { status: failing ? 500 : 204 };
    });
    try {
      await subscribe({
        name: `s-${randomUUID().slice(0, 8)}`,
        topics: [topic],
        endpoint: endpoint.url,
        concurrency: 4,
        retry: { maxAttempts: 50, backoffInitial: '50ms', backoffMax: '400ms' },
      });
      const published = await publishMany(url, topic, 'r', 16, 4);
      await eventually(
        async () => new Set(ids(endpoint.accepted)).size === published.length,
        90_000,
        'every message accepted',
      );
      expect(endpoint.all.length).toBeGreaterThan(published.length);
      expect(new Set(ids(endpoint.accepted))).toEqual(new Set(published));
      // Per key, accepted in seq order.
      const byKey = new Map<string, number[]>();
      for (const r of endpoint.accepted) {
        const key = String(r.headers['ce-partitionkey']);
        byKey.set(key, [...(byKey.get(key) ?? []), Number(r.headers['ce-sequence'])]);
      }
      for (const seqs of byKey.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      // A binary-mode CloudEvent.
      const first = endpoint.accepted[0]!;
      expect(first.headers['ce-specversion']).toBe('1.0');
      expect(first.headers['ce-source']).toBeTruthy();
      expect(first.headers['ce-type']).toBeTruthy();
      expect(first.headers['ce-time']).toBeTruthy();
      expect(first.headers['content-type']).toBe('application/json');
      expect(JSON.parse(first.body.toString())).toHaveProperty('i');
    } finally {
      await endpoint.close();
    }
  }, 120_000);

  it('slows down on 429 with Retry-After without dead-lettering', async () => {
    const topic = `t-push-${randomUUID()}`;
    const seen = new Map<string, number>();
    const endpoint = await pushEndpoint((req) => {
      const id = String(req.headers['ce-id']);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      return n <= 3 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
    });
    try {
      // maxAttempts 1: had a 429 counted as a failure, the message would be dead-lettered at once.
      await subscribe({
        name: `s-${randomUUID().slice(0, 8)}`,
        topics: [topic],
        endpoint: endpoint.url,
        retry: { maxAttempts: 1 },
      });
      const published = await publishMany(url, topic, 'q', 3, 3);
      await eventually(
        async () => new Set(ids(endpoint.accepted)).size === published.length,
        90_000,
        'every message accepted',
      );
      for (const id of published) {
        const times = endpoint.all.filter((r) => r.headers['ce-id'] === id).map((r) => r.at);
        expect(times).toHaveLength(4);
        // Each retry came after the second Retry-After asked for (less a little clock slack).
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
      }
    } finally {
      await endpoint.close();
    }
  }, 120_000);

  it('validates endpoints, refuses deleting config subscriptions, keeps API ones across a restart', async () => {
    const bad = await fetch(`${url}/v1/subscriptions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'bad', topics: ['t-x'], endpoint: 'ftp://example.com/x' }),
    });
    expect(bad.status).toBe(400);
    const del = await fetch(`${url}/v1/subscriptions/from-config`, { method: 'DELETE' });
    expect(((await del.json()) as { code: string }).code).toBe('MQGATE_ERR_SUBSCRIPTION_READONLY');
    const name = `keep-${randomUUID().slice(0, 8)}`;
    const body = { name, topics: [`t-keep-${name}`], endpoint: 'http://127.0.0.1:9/keep' };
    await subscribe(body);
    const again = await fetch(`${url}/v1/subscriptions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    expect(again.status).toBe(200);
    const clash = await fetch(`${url}/v1/subscriptions`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ ...body, endpoint: 'http://127.0.0.1:9/other' }),
    });
    expect(((await clash.json()) as { code: string }).code).toBe('MQGATE_ERR_SUBSCRIPTION_EXISTS');

    await gateway.close();
    gateway = await Gateway.create(config(), { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
    const list = (await (await fetch(`${url}/v1/subscriptions`)).json()) as {
      subscriptions: { name: string; source: string }[];
    };
    expect(list.subscriptions).toContainEqual(expect.objectContaining({ name, source: 'api' }));
    expect(list.subscriptions).toContainEqual(
      expect.objectContaining({ name: 'from-config', source: 'config' }),
    );
    expect((await fetch(`${url}/v1/subscriptions/${name}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${url}/v1/subscriptions/${name}`)).status).toBe(404);
  }, 120_000);
});
