import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Envelope } from '../../src/envelope.js';
import type { Backend } from '../../src/ports/backend.js';
import type { Delivery, SubscribableBackend } from '../../src/ports/subscriber.js';
import { duplicates, envelopes, MemberProcess, orderViolations } from './group-members.js';

/**
 * Consumer group scenarios shared by the Redis and RabbitMQ group tests (adapter level: `subscribe()` on a
 * real broker, members as child processes). Each backend's test file supplies the backend and the settings.
 */
export interface GroupFixture {
  /** A connected backend in the test process, for publishing and in-process subscribers. */
  readonly backend: Backend & SubscribableBackend;
  readonly partitions: number;
  /** Settings for test/fixtures/group-member.ts, minus group, topics and member id. */
  readonly member: { backend: object; timing: { sessionTimeoutMs: number; heartbeatIntervalMs: number } };
}

export async function publishAll(backend: Backend, batch: readonly Envelope[], chunk = 250): Promise<void> {
  for (let i = 0; i < batch.length; i += chunk) {
    const outcomes = await backend.publish(batch.slice(i, i + chunk));
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed).toEqual([]);
  }
}

const handledIds = (members: readonly MemberProcess[]): Set<string> =>
  new Set(members.flatMap((m) => m.messages().map((e) => e.id)));

async function untilAll(
  members: readonly MemberProcess[],
  ids: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = handledIds(members);
    const missing = ids.filter((id) => !seen.has(id));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      const state = members.map((m) => {
        const errors = m.events.filter((e) => e.ev === 'error').slice(0, 3);
        return `${m.id}: owns ${[...m.owned()].join(',')} errors ${JSON.stringify(errors)} ${m.stderr.slice(0, 500)}`;
      });
      throw new Error(
        `${missing.length} messages never handled, e.g. ${missing.slice(0, 5)}\n${state.join('\n')}`,
      );
    }
    await Promise.race(members.map((m) => m.next(500)));
  }
}

function balanced(members: readonly MemberProcess[], partitions: number): boolean {
  const counts = members.map((m) => m.owned().size);
  return counts.reduce((a, b) => a + b, 0) === partitions && Math.max(...counts) - Math.min(...counts) <= 1;
}

async function untilBalanced(
  members: readonly MemberProcess[],
  partitions: number,
  timeoutMs: number,
): Promise<void> {
  await members[0]!.until(() => balanced(members, partitions), timeoutMs, 'a balanced assignment');
}

/**
 * 3 members, 3,000 messages over 30 keys, one member SIGKILLed halfway, then a fourth member joins.
 * Returns the kill-to-takeover time in ms.
 */
export async function killAndJoinScenario(fx: GroupFixture, topic: string, group: string): Promise<number> {
  const settings = { ...fx.member, group, topics: [topic], handleMs: 2 };
  const members = ['m1', 'm2', 'm3'].map((id) => new MemberProcess(id, settings));
  const all = [...members];
  try {
    await untilBalanced(members, fx.partitions, 30_000);
    const batch = envelopes(topic, 3_000, 30, `a-${randomUUID()}`);
    const publishing = publishAll(fx.backend, batch);
    await members[0]!.until(() => handledIds(members).size >= 1_500, 60_000, 'half the messages');
    const victim = members[1]!;
    const deadPartitions = victim.owned();
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    await publishing;
    const survivors = [members[0]!, members[2]!];
    await untilAll(
      members,
      batch.map((e) => e.id),
      40_000,
    );

    // Takeover: the first assign after the kill that names each of the dead member's partitions.
    const takenAt = [...deadPartitions].map((tp) => {
      const times = survivors.flatMap((m) =>
        m.events
          .filter((e) => e.ev === 'assign' && e.t >= killedAt && e.tps.some(([t, p]) => `${t}:${p}` === tp))
          .map((e) => e.t),
      );
      expect(times.length, `partition ${tp} taken over`).toBeGreaterThan(0);
      return Math.min(...times);
    });
    const takeoverMs = Math.max(...takenAt) - killedAt;

    // At-least-once: duplicates only for what the dead member had in flight (one per partition).
    const dups = duplicates(members);
    const victimIds = new Set(victim.messages().map((e) => e.id));
    expect([...dups.keys()].filter((id) => !victimIds.has(id))).toEqual([]);
    expect(dups.size).toBeLessThanOrEqual(deadPartitions.size);
    for (const m of members) expect(orderViolations(m)).toEqual([]);
    // Balanced once the rebalance after the takeover has settled (a rebalance step may still be running when
    // the last message is handled); untilBalanced fails if it never does.
    await untilBalanced(survivors, fx.partitions, 15_000);

    // A fourth member joins: a rebalance, and nothing acknowledged is handled again.
    const settledAt = Date.now();
    const joiner = new MemberProcess('m4', settings);
    all.push(joiner);
    const group3 = [members[0]!, members[2]!, joiner];
    await untilBalanced(group3, fx.partitions, 30_000);
    const more = envelopes(topic, 300, 30, `b-${randomUUID()}`, 100);
    await publishAll(fx.backend, more);
    await untilAll(
      group3,
      more.map((e) => e.id),
      60_000,
    );
    const first = new Set(batch.map((e) => e.id));
    const again = group3.flatMap((m) => m.messages().filter((e) => e.t > settledAt && first.has(e.id)));
    expect(again).toEqual([]);
    expect(duplicates(group3).size).toBe(0);
    for (const m of group3) expect(orderViolations(m)).toEqual([]);
    await Promise.all(group3.map((m) => m.kill('SIGTERM')));
    for (const m of group3)
      expect(
        m.events.some((e) => e.ev === 'closed'),
        `${m.id} closed cleanly`,
      ).toBe(true);
    return takeoverMs;
  } finally {
    await Promise.all(all.map((m) => m.kill('SIGKILL')));
  }
}

/** Messages published before the group existed are handled, in per-key order. */
export async function lateGroupScenario(fx: GroupFixture, topic: string, group: string): Promise<void> {
  const batch = envelopes(topic, 60, 6, `early-${randomUUID()}`);
  await publishAll(fx.backend, batch);
  const got: Delivery[] = [];
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sub = await fx.backend.subscribe({
    group,
    topics: [topic],
    onMessage: async (d) => {
      got.push(d);
      if (new Set(got.map((g) => g.envelope.id)).size === batch.length) done();
    },
  });
  try {
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20_000))]);
  } finally {
    await sub.close();
  }
  expect(new Set(got.map((g) => g.envelope.id))).toEqual(new Set(batch.map((e) => e.id)));
  const last = new Map<string, number>();
  for (const { envelope } of got) {
    expect(envelope.seq).toBeGreaterThan(last.get(envelope.key!) ?? 0);
    last.set(envelope.key!, envelope.seq);
  }
}

/** A rejected message comes again before the later ones of its partition; nothing is skipped. */
export async function rejectScenario(fx: GroupFixture, topic: string, group: string): Promise<void> {
  const batch = envelopes(topic, 60, 3, `rej-${randomUUID()}`);
  const poison = batch[10]!;
  let rejections = 0;
  const handled: Envelope[] = [];
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sub = await fx.backend.subscribe({
    group,
    topics: [topic],
    onMessage: async ({ envelope }) => {
      if (envelope.id === poison.id && rejections < 2) {
        rejections++;
        throw new Error('not yet');
      }
      handled.push(envelope);
      if (handled.length >= batch.length) done();
    },
  });
  try {
    await publishAll(fx.backend, batch);
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 20_000))]);
  } finally {
    await sub.close();
  }
  expect(rejections).toBe(2);
  for (const key of ['k0', 'k1', 'k2']) {
    const seqs = handled.filter((e) => e.key === key).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }
}
