import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../helpers/gateway-process.js';
import { claim, publishMany, settle } from '../helpers/pull-client.js';
import { stackEnv } from '../helpers/stack-env.js';

const MESSAGES = 60;

describe('pull with leases: two gateway replicas (child processes) serving one group', () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'mqgate-pull-rep-')));
  let replicas: GatewayProcess[] = [];

  beforeAll(async () => {
    const redisUrl = stackEnv().redisUrl;
    replicas = await Promise.all(
      dirs.map((dir) =>
        startGatewayProcess(dir, {
          outbox: { driver: 'sqlite', path: join(dir, 'outbox.db') },
          backends: { redis: { type: 'redis', url: redisUrl, partitions: 4 } },
          routes: [{ match: '*', backends: ['redis'] }],
          relay: { pollInterval: '20ms' },
        }),
      ),
    );
  }, 90_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('never hands out an acknowledged message again, and every message is acknowledged once', async () => {
    const topic = `t-pull-rep-${randomUUID()}`;
    const group = `g-${randomUUID().slice(0, 8)}`;
    // Half the messages through each replica: both relays write the same streams.
    const half = MESSAGES / 2;
    const ids = [
      ...(await publishMany(replicas[0]!.url, topic, 'a', half)),
      ...(await publishMany(replicas[1]!.url, topic, 'b', half)),
    ];
    const acked = new Set<string>();
    const violations: string[] = [];
    let dropped = 0;
    const deadline = Date.now() + 90_000;
    // Each replica serves a pull loop; every fifth claim is "lost" (never acked) with a short lease, so
    // expired leases are handed out again while the other loop acknowledges.
    const loop = async (replica: GatewayProcess, n: number) => {
      for (let round = 0; acked.size < ids.length && Date.now() < deadline; round++) {
        const drop = round % 5 === n;
        const { messages } = await claim(replica.url, group, topic, { max: 4, leaseMs: drop ? 800 : 60_000 });
        for (const m of messages) if (acked.has(m.id)) violations.push(`${m.id} handed out after its ack`);
        if (messages.length === 0) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if (drop) {
          dropped += messages.length;
          continue;
        }
        const results = await settle(
          replica.url,
          group,
          topic,
          'ack',
          messages.map((m) => m.token),
        );
        messages.forEach((m, i) => {
          if (results[i] === 'acked') acked.add(m.id);
        });
      }
    };
    await Promise.all(replicas.map((r, n) => loop(r, n)));
    expect(violations).toEqual([]);
    expect(dropped).toBeGreaterThan(0);
    expect([...acked].sort()).toEqual([...ids].sort());
    // Nothing left for the group.
    expect((await claim(replicas[1]!.url, group, topic, { max: 100, leaseMs: 1_000 })).messages).toEqual([]);
  }, 120_000);
});
