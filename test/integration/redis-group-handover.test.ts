import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEntry } from '../../adapters/redis/codec.js';
import { RedisBackend } from '../../adapters/redis/index.js';
import { streamKey, streamKeys } from '../../adapters/redis/keys.js';
import { streamGroupName } from '../../adapters/redis/subscriber.js';
import type { RedisBackendConfig } from '../../src/config/types.js';
import { type Envelope, partitionOf } from '../../src/envelope.js';
import { assignPartitions } from '../../src/groups/assignment.js';
import type { Subscription, TopicPartition } from '../../src/ports/subscriber.js';
import { keyedEnvelopes, publishAll } from '../helpers/sdk-member.js';
import { stackEnv } from '../helpers/stack-env.js';

const PARTITIONS = 6;
/**
 * The first member blocks in XREADGROUP for a whole heartbeat (5 s), so that when it gives partitions to the
 * joiner, its read of them is almost surely still waiting; the joiner heartbeats every 100 ms, so it takes
 * them over at once. Both share the session timeout, which is what prunes members.
 */
const SLOW = { sessionTimeoutMs: 15_000, heartbeatIntervalMs: 5_000 };
const FAST = { sessionTimeoutMs: 15_000, heartbeatIntervalMs: 100 };

/**
 * Issue 5: a member that gave a partition away while its blocking XREADGROUP still included the partition's
 * stream took the next entries published there into its own pending list, after the new owner had claimed
 * that list once (XAUTOCLAIM on taking the lease); nobody read them again. The member must not release the
 * lease before that read is over.
 */
describe('redis consumer groups: handing a partition over while a read of it is blocked', () => {
  let admin: Redis;
  let publisher: RedisBackend;
  let config: RedisBackendConfig;
  const backends: RedisBackend[] = [];
  const subs: Subscription[] = [];
  const topics: string[] = [];
  const groups: string[] = [];
  const names = () => {
    const topic = `t-${randomUUID()}`;
    const group = `g-${randomUUID()}`;
    topics.push(topic);
    groups.push(group);
    return { topic, group };
  };

  beforeAll(async () => {
    const url = stackEnv().redisUrl;
    admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    config = { name: 'redis', type: 'redis', connection: { mode: 'url', url }, partitions: PARTITIONS };
    publisher = new RedisBackend(config, pino({ level: 'silent' }));
    await publisher.connect();
  });

  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close({ timeoutMs: 10_000 })));
    await Promise.all(backends.map((b) => b.close()));
    await publisher?.close();
    for (const topic of topics) await admin.del(...streamKeys(topic, PARTITIONS));
    for (const group of groups) {
      const keys = await admin.keys(`mqgate:group:{${group}}:*`);
      if (keys.length > 0) await admin.del(...keys);
    }
    await admin?.quit();
  });

  const member = async (
    topic: string,
    group: string,
    timing: typeof SLOW,
    handled: Set<string>,
    onAssign?: (tps: readonly TopicPartition[]) => void,
  ) => {
    const backend = new RedisBackend(config, pino({ level: 'silent' }), undefined, timing);
    backends.push(backend);
    const sub = await backend.subscribe({
      group,
      topics: [topic],
      onMessage: async (d) => {
        handled.add(d.envelope.id);
      },
      ...(onAssign ? { onAssign } : {}),
    });
    subs.push(sub);
  };

  /** Entries pending in the group once the last XACKs had a moment (handled, then acknowledged). */
  const settledPending = async (topic: string, group: string): Promise<number> => {
    const pending = async () => {
      let n = 0;
      for (const key of streamKeys(topic, PARTITIONS)) {
        const [count] = (await admin.xpending(key, streamGroupName(group))) as [number];
        n += Number(count);
      }
      return n;
    };
    const deadline = Date.now() + 5_000;
    while ((await pending()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return pending();
  };

  it('every message published right after the handover is handled, none left pending', async () => {
    const { topic, group } = names();
    await publisher.ensureTopic(topic);
    const handled = new Set<string>();
    await member(topic, group, SLOW, handled);
    // Let the first member's read loop settle into its blocked XREADGROUP over all six streams.
    await new Promise((r) => setTimeout(r, 300));
    let sent: Envelope[] = [];
    let published: Promise<void> | undefined;
    const handedOver = new Promise<void>((resolve) => {
      void member(topic, group, FAST, handled, (tps) => {
        if (tps.length === 0 || published) return;
        // Only to the partitions just handed over, the moment the joiner owns them: the first member's
        // blocked read of those streams must be over by now (it took the first entry published, before).
        const given = new Set(tps.map((tp) => tp.partition));
        sent = keyedEnvelopes(topic, 30, 2).filter((e) =>
          given.has(partitionOf(e.key as string, PARTITIONS)),
        );
        published = publishAll(publisher, sent);
        resolve();
      });
    });
    await handedOver;
    await published;
    const deadline = Date.now() + 15_000;
    while (handled.size < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(sent.length).toBeGreaterThan(0);
    const missing = sent.filter((e) => !handled.has(e.id)).map((e) => e.id);
    expect(missing).toEqual([]);
    expect(await settledPending(topic, group)).toBe(0);
  });

  it('an entry a former owner took after the takeover (it lost its lease unaware) is claimed back and handled', async () => {
    const { topic, group } = names();
    await publisher.ensureTopic(topic);
    const handled = new Set<string>();
    const timing = { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 200 };
    await member(topic, group, timing, handled);
    const [env] = keyedEnvelopes(topic, 1, 1) as [Envelope];
    const stream = streamKey(topic, partitionOf(env.key as string, PARTITIONS));
    // What a stalled former owner does: its XREADGROUP takes the new entry before the owner's read can, in
    // one transaction, so the owner's blocked read never sees it.
    const reply = await admin
      .multi()
      .xadd(stream, '*', ...encodeEntry(env))
      .xreadgroup('GROUP', streamGroupName(group), 'stalled-former-owner', 'COUNT', 1, 'STREAMS', stream, '>')
      .exec();
    expect(reply?.every(([err]) => err === null)).toBe(true);
    const startedAt = Date.now();
    while (!handled.has(env.id) && Date.now() - startedAt < 15_000)
      await new Promise((r) => setTimeout(r, 100));
    expect([...handled]).toEqual([env.id]);
    // Not before it was idle for the session timeout: a former owner may still be finishing it.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(timing.sessionTimeoutMs - 100);
    expect(await settledPending(topic, group)).toBe(0);
  });
  it('a member whose handler outlasts the session timeout while a joiner takes its partition stays in the group and hands over only after the handler returns', async () => {
    const { topic, group } = names();
    await publisher.ensureTopic(topic);
    const timing = { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 200 };
    // Fixed member ids make the assignment known: pick a key on a partition that moves to the joiner.
    const moving = new Set(
      (assignPartitions(['a', 'b'], [topic], PARTITIONS).get('b') ?? []).map((tp) => tp.partition),
    );
    const [slow] = keyedEnvelopes(topic, 60, 1).filter((e) =>
      moving.has(partitionOf(e.key as string, PARTITIONS)),
    );
    const spans: { member: string; id: string; start: number; end: number }[] = [];
    const revokedFromA: number[] = [];
    const join = async (memberId: string, onRevoke?: (tps: readonly TopicPartition[]) => void) => {
      const backend = new RedisBackend(config, pino({ level: 'silent' }), undefined, timing);
      backends.push(backend);
      subs.push(
        await backend.subscribe({
          group,
          topics: [topic],
          memberId,
          onMessage: async (d) => {
            const start = Date.now();
            // Longer than two session timeouts: heartbeats must not wait for it.
            if (d.envelope.id === slow!.id) await new Promise((r) => setTimeout(r, 5_000));
            spans.push({ member: memberId, id: d.envelope.id, start, end: Date.now() });
          },
          ...(onRevoke ? { onRevoke } : {}),
        }),
      );
    };
    await join('a', (tps) => revokedFromA.push(...tps.map((tp) => tp.partition)));
    await publishAll(publisher, [slow!]);
    await new Promise((r) => setTimeout(r, 500)); // a is in the slow handler now
    await join('b');
    const deadline = Date.now() + 20_000;
    while (spans.filter((x) => x.id === slow!.id).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3_000)); // time for a second, wrongful handling to show up
    expect(spans.filter((x) => x.id === slow!.id).map((x) => x.member)).toEqual(['a']);
    // a gave up only the joiner's share, never the whole topic (which a member declared dead would).
    expect(revokedFromA.sort((x, y) => x - y)).toEqual([...moving].sort((x, y) => x - y));
  });
});
