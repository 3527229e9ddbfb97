import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway.js';
import { eventually } from '../helpers/gateway-process.js';
import { type Claimed, claim, publishMany, settle } from '../helpers/pull-client.js';
import { stackEnv } from '../helpers/stack-env.js';

describe('pull with leases (redis route, one gateway)', () => {
  let gateway: Gateway;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-pull-'));

  beforeAll(async () => {
    const env = stackEnv();
    const config = parseConfig({
      server: { host: '127.0.0.1', port: 0 },
      outbox: { driver: 'sqlite', path: join(dir, 'outbox.db') },
      backends: {
        redis: { type: 'redis', url: env.redisUrl, partitions: 3 },
        jobs: { type: 'bullmq', url: env.redisUrl },
      },
      routes: [
        { match: 'nopull.*', backends: ['jobs'] },
        { match: '*', backends: ['redis'] },
      ],
      relay: { pollInterval: '10ms' },
    });
    gateway = await Gateway.create(config, { logger: pino({ level: 'warn' }) });
    url = (await gateway.start())!;
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const drained = () =>
    eventually(async () => (await gateway.outbox.stats()).depth === 0, 60_000, 'the outbox to drain');

  it('gives a dropped claim back after its lease, a repeated claim the same messages, acks idempotently', async () => {
    const topic = `t-pull-${randomUUID()}`;
    const group = `g-${randomUUID().slice(0, 8)}`;
    const ids = await publishMany(url, topic, 'p', 12);
    await drained();

    // The client loses this response.
    const lost = await claim(url, group, topic, { max: 50, leaseMs: 1_500, claimId: 'c-lost' });
    expect(lost.messages.map((m) => m.id).sort()).toEqual([...ids].sort());
    // Retrying the same claim returns what it holds, nothing new; another claim gets nothing while it holds.
    const again = await claim(url, group, topic, { max: 50, leaseMs: 1_500, claimId: 'c-lost' });
    expect(again.messages.map((m) => m.token).sort()).toEqual(lost.messages.map((m) => m.token).sort());
    expect((await claim(url, group, topic, { max: 50, leaseMs: 10_000 })).messages).toEqual([]);

    // After the lease every message is claimable again: nothing lost.
    const back: Claimed[] = [];
    await eventually(
      async () => {
        back.push(...(await claim(url, group, topic, { max: 50, leaseMs: 30_000 })).messages);
        return back.length >= ids.length;
      },
      30_000,
      'the expired lease to hand the messages out again',
    );
    expect(back.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(back.every((m) => m.deliveries >= 2)).toBe(true);

    // The lost claim's tokens were taken over: its holder learns it lost them, and acks nothing.
    const stale = lost.messages.map((m) => m.token);
    expect(await settle(url, group, topic, 'ack', stale)).toEqual(stale.map(() => 'lost'));
    const tokens = back.map((m) => m.token);
    expect(await settle(url, group, topic, 'ack', tokens)).toEqual(tokens.map(() => 'acked'));
    expect(await settle(url, group, topic, 'ack', tokens)).toEqual(tokens.map(() => 'acked'));
    expect((await claim(url, group, topic, { max: 50, leaseMs: 1_000 })).messages).toEqual([]);
  });

  it('nack makes a message claimable again at once; groups are independent', async () => {
    const topic = `t-pull-${randomUUID()}`;
    const [id] = await publishMany(url, topic, 'n', 1);
    await drained();
    const first = await claim(url, group(), topic, { max: 5, leaseMs: 60_000 });
    void first;
    const g = group();
    const a = await claim(url, g, topic, { max: 5, leaseMs: 60_000 });
    expect(a.messages.map((m) => m.id)).toEqual([id]);
    expect(await settle(url, g, topic, 'nack', [a.messages[0]!.token])).toEqual(['released']);
    const b = await claim(url, g, topic, { max: 5, leaseMs: 60_000 });
    expect(b.messages.map((m) => m.id)).toEqual([id]);
    expect(b.messages[0]!.deliveries).toBe(2);
    expect(await settle(url, g, topic, 'ack', [b.messages[0]!.token])).toEqual(['acked']);
  });

  it('refuses pull on a route with a backend that cannot lease, and bad tokens, with stable codes', async () => {
    const res = await fetch(`${url}/v1/groups/g1/topics/nopull.x:claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('MQGATE_ERR_PULL_UNSUPPORTED');
    const bad = await fetch(`${url}/v1/groups/g1/topics/t-x:ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokens: ['nonsense'] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('MQGATE_ERR_INVALID_LEASE_TOKEN');
  });
});

function group(): string {
  return `g-${randomUUID().slice(0, 8)}`;
}
