import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import type { Backend } from '../../src/ports/backend.js';
import { Consumer } from '../../src/sdk/index.js';
import type { BrokerReader } from './broker-readers.js';
import {
  firstHandledOrder,
  keyedEnvelopes,
  type Line,
  type MemberSettings,
  publishAll,
  SdkMember,
  seqs,
  waitAll,
} from './sdk-member.js';

/**
 * The consumer SDK's group scenarios (issue 5, "Done when"), shared by the Kafka, Redis and RabbitMQ test
 * files: `Consumer`s as child processes (test/fixtures/sdk-consumer.ts) on the real broker. Each file supplies
 * the backend to publish with and the config the consumers use.
 */
export interface SdkFixture {
  /** Printed in the measurements, e.g. `sdk-redis`. */
  readonly label: string;
  /** A connected backend, named as in `config`, to publish with. */
  readonly publisher: Backend;
  /** The parsed config for in-process consumers; its route sends every topic to `publisher` only. */
  readonly config: Config;
  /** What each member process gets besides group and topics (`{ config: raw }` or `{ brokers }`). */
  readonly member: Omit<MemberSettings, 'group' | 'topics'>;
  readonly partitions: number;
  /** Reads a topic back from the broker with the plain client (for the dead-letter copy). */
  readonly read: BrokerReader;
  /** A temp dir for the members' shared SQLite inbox. */
  readonly dir: string;
  /** Every member started, so that the test file stops them after all. */
  readonly members: SdkMember[];
}

function spawnMembers(fx: SdkFixture, n: number, settings: MemberSettings): SdkMember[] {
  const list = Array.from({ length: n }, () => new SdkMember(settings));
  fx.members.push(...list);
  return list;
}

/** Ids handled more than once, with their lines. */
function duplicates(all: readonly Line[]): Line[][] {
  const count = new Map<string, Line[]>();
  for (const l of all) count.set(l.id as string, [...(count.get(l.id as string) ?? []), l]);
  return [...count.values()].filter((ls) => ls.length > 1);
}

/**
 * 3 members, 3,000 messages over 30 keys, one SIGKILLed halfway: every message handled, duplicates only of
 * what the dead member had in flight, per-key order, its partitions taken over. Returns the time from the
 * kill to the last of its partitions being assigned to a survivor, in ms.
 */
export async function killScenario(fx: SdkFixture, topic: string, group: string): Promise<number> {
  await fx.publisher.ensureTopic(topic);
  const settings: MemberSettings = {
    ...fx.member,
    group,
    topics: [topic],
    handlerDelayMs: 4,
    dedupPath: join(fx.dir, `${group}.db`),
  };
  const trio = spawnMembers(fx, 3, settings);
  await Promise.all(trio.map((m) => m.waitReady()));
  // Every member owns partitions before the stream starts, so the kill takes partitions away.
  const each = fx.partitions / 3;
  await waitAll(trio, () => trio.every((m) => m.owned().size === each), `balanced assignment (${each} each)`);

  const sent = keyedEnvelopes(topic, 30, 100);
  const publishing = publishAll(fx.publisher, sent);
  const total = () => trio.reduce((n, m) => n + m.handled().length, 0);
  await waitAll(trio, () => total() >= 1_500, '1,500 handled');

  const victim = trio[0] as SdkMember;
  const lost = victim.owned();
  expect(lost.size).toBe(each);
  const killedAt = performance.timeOrigin + performance.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  await publishing;
  const survivors = trio.slice(1);
  const takenOver = () => [...lost].every((p) => survivors.some((m) => m.owned().has(p)));
  await waitAll(survivors, takenOver, 'takeover of the killed member’s partitions', 60_000);
  const takenAt = [...lost].map((p) =>
    Math.min(
      ...survivors
        .flatMap((m) => m.lines)
        .filter((l) => l.ev === 'rebalance' && l.t > killedAt && l.assigned?.some((a) => a.partition === p))
        .map((l) => l.t),
    ),
  );
  const takeoverMs = Math.max(...takenAt) - killedAt;

  const ids = () => new Set(trio.flatMap((m) => m.handled().map((l) => l.id)));
  await waitAll(survivors, () => ids().size >= sent.length, 'all 3,000 handled', 90_000);
  const all = trio.flatMap((m) => m.handled());
  expect(ids()).toEqual(new Set(sent.map((e) => e.id)));
  // Duplicates only where the killed member handled a message but died before recording it.
  const dups = duplicates(all);
  for (const ls of dups) expect(ls.some((l) => l.pid === victim.pid)).toBe(true);
  expect(dups.length).toBeLessThanOrEqual(lost.size);
  for (const [key, order] of firstHandledOrder(all)) expect(order, `order of ${key}`).toEqual(seqs(100));
  console.log(
    `[${fx.label}] kill -> takeover ${takeoverMs.toFixed(0)} ms; ${all.length} handled, ${dups.length} ids twice`,
  );
  return takeoverMs;
}

/** A handler that always throws for one id: dead-lettered after the retry limit with its error; the rest flows. */
export async function deadLetterScenario(fx: SdkFixture, topic: string, group: string): Promise<void> {
  await fx.publisher.ensureTopic(topic);
  const sent = keyedEnvelopes(topic, 5, 10);
  const poison = sent[17] as Envelope;
  const consumer = new Consumer({
    config: fx.config,
    group,
    topics: [topic],
    retry: { maxAttempts: 3, initialMs: 10, maxMs: 50 },
    logger: pino({ level: 'silent' }),
  });
  const handled: string[] = [];
  const attempts: number[] = [];
  const bad: unknown[] = [];
  const deadLetters: { id: string; topic: string; error: unknown }[] = [];
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const check = () => handled.length === sent.length - 1 && deadLetters.length === 1 && finished();
  consumer.on('dead-letter', (e) => {
    deadLetters.push({ id: e.message.id, topic: e.topic, error: e.error });
    check();
  });
  try {
    await consumer.run(async (msg) => {
      if (msg.id === poison.id) {
        attempts.push(msg.attempt);
        throw new Error(`cannot handle ${msg.id}`);
      }
      const want = { k: Number((msg.key as string).slice(1)), seq: msg.seq };
      if (JSON.stringify(msg.data) !== JSON.stringify(want)) bad.push(msg.data);
      handled.push(msg.id);
      check();
    });
    await publishAll(fx.publisher, sent);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, r) => (timer = setTimeout(() => r(new Error('timeout')), 60_000)));
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.close({ timeoutMs: 10_000 });
  }
  expect(bad).toEqual([]);
  expect(attempts).toEqual([1, 2, 3]);
  expect(deadLetters).toEqual([{ id: poison.id, topic: `${topic}.dlq`, error: expect.any(Error) }]);
  expect(new Set(handled)).toEqual(new Set(sent.filter((e) => e !== poison).map((e) => e.id)));
  const [dead] = await fx.read(`${topic}.dlq`, 1, 30_000);
  expect(dead?.id).toBe(poison.id);
  expect(dead?.headers['dead-letter-error']).toContain(`cannot handle ${poison.id}`);
  expect(dead?.headers['dead-letter-topic']).toBe(topic);
  expect(dead?.data.equals(poison.data)).toBe(true);
}

/** A member joining mid-stream: a rebalance, no message handled twice, per-key order kept. */
export async function joinScenario(fx: SdkFixture, topic: string, group: string): Promise<void> {
  await fx.publisher.ensureTopic(topic);
  // Slow enough handlers that the stream is still flowing when the second member's join completes.
  const settings: MemberSettings = { ...fx.member, group, topics: [topic], handlerDelayMs: 30 };
  const [first] = spawnMembers(fx, 1, settings) as [SdkMember];
  await first.waitReady();
  const sent = keyedEnvelopes(topic, 20, 60);
  await publishAll(fx.publisher, sent);
  await first.waitFor((ls) => ls.filter((l) => l.ev === 'msg').length >= 200, '200 handled');
  const [second] = spawnMembers(fx, 1, settings) as [SdkMember];
  const pair = [first, second];
  await second.waitFor((ls) => ls.some((l) => (l.assigned?.length ?? 0) > 0), 'assignment');
  const all = () => pair.flatMap((m) => m.handled());
  await waitAll(pair, () => new Set(all().map((l) => l.id)).size >= sent.length, 'all handled', 90_000);
  expect(second.handled().length).toBeGreaterThan(0);
  expect(first.lines.some((l) => (l.revoked?.length ?? 0) > 0)).toBe(true);
  expect(duplicates(all())).toEqual([]);
  expect(new Set(all().map((l) => l.id))).toEqual(new Set(sent.map((e) => e.id)));
  for (const [key, order] of firstHandledOrder(all())) expect(order, `order of ${key}`).toEqual(seqs(60));
}
