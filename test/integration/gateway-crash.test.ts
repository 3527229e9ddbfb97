import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../adapters/redis/codec.js';
import { streamKeys } from '../../adapters/redis/keys.js';
import { eventually, type GatewayProcess, pool, startGatewayProcess } from '../helpers/gateway-process.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 3;

function gatewayConfig(redisUrl: string) {
  return {
    outbox: { driver: 'sqlite', path: './outbox.db', maxBytes: '64mb', retention: '1h' },
    backends: { redis: { type: 'redis', url: redisUrl, partitions: PARTITIONS } },
    routes: [{ match: '*', backends: ['redis'], mode: 'failover' }],
    failover: { failureThreshold: 3, probeInterval: '200ms', openFor: '500ms', failbackAfter: '2s' },
    relay: { backoffInitial: '50ms', backoffMax: '500ms', pollInterval: '20ms' },
    log: { level: 'warn' },
  };
}

describe('a gateway killed with SIGKILL loses no accepted message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-crash-'));
  const gateways: GatewayProcess[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts 1,000 messages with every broker unreachable, dies, restarts, and delivers all 1,000', async () => {
    const topic = `t-crash-${Date.now()}`;
    // First life: the only backend points at a port where nothing listens.
    const first = await startGatewayProcess(dir, gatewayConfig('redis://127.0.0.1:1'));
    gateways.push(first);
    const accepted = await pool(1_000, 50, async (i) => {
      const res = await fetch(`${first.url}/v1/topics/${topic}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: `m-${i}`, key: `k-${i % 10}`, data: { i } }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as { id: string }).id;
    });
    expect(new Set(accepted).size).toBe(1_000);
    const outbox = (await (await fetch(`${first.url}/v1/outbox`)).json()) as { depth: number };
    expect(outbox.depth).toBe(1_000);
    await first.kill('SIGKILL');

    // Second life: same outbox file, the broker is there now.
    const { redisUrl } = stackEnv();
    const second = await startGatewayProcess(dir, gatewayConfig(redisUrl));
    gateways.push(second);
    await eventually(
      async () => ((await (await fetch(`${second.url}/v1/outbox`)).json()) as { depth: number }).depth === 0,
      60_000,
      'the outbox to drain',
    );

    const redis = new Redis(redisUrl);
    try {
      const seen = new Map<string, number[]>();
      for (const key of streamKeys(topic, PARTITIONS)) {
        for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) {
          const env = decodeEntry(fields);
          const seqs = seen.get(env.key!) ?? [];
          seqs.push(env.seq);
          seen.set(env.key!, seqs);
          expect(JSON.parse(env.data.toString())).toEqual({ i: Number(env.id.slice(2)) });
        }
      }
      const ids = new Set<string>();
      for (const key of streamKeys(topic, PARTITIONS)) {
        for (const [, fields] of await redis.xrangeBuffer(key, '-', '+')) ids.add(decodeEntry(fields).id);
      }
      expect(ids).toEqual(new Set(accepted));
      // Per key, the broker holds the messages in seq order (duplicates from a resend are allowed).
      for (const seqs of seen.values()) {
        const firstSeen = seqs.filter((s, i) => seqs.indexOf(s) === i);
        expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
        expect(firstSeen.length).toBe(100);
      }
      await redis.del(...streamKeys(topic, PARTITIONS));
    } finally {
      redis.disconnect();
    }
  });
});
