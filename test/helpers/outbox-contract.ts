import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewMessage, Outbox } from '../../src/ports/outbox.js';
import type { OutboxAdmin } from '../../src/ports/outbox-admin.js';
import { FakeClock, msg } from '../unit/fixtures/outbox-helpers.js';

/** A settable clock shared by the outboxes of one test (the unit fixtures' clock). */
export { FakeClock as ContractClock };

export type ContractOutbox = Outbox & OutboxAdmin;

export interface ContractStore {
  readonly clock: FakeClock;
  /** A started outbox on this test's store; call again for another replica (or a restart) on the same store. */
  open(options?: { maxBytes?: number; retentionMs?: number }): Promise<ContractOutbox>;
  /** Closes every outbox opened and removes the store. */
  cleanup(): Promise<void>;
}

const LEASE = 10_000;
const fail = { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'rejected' };

/** The unit fixtures' message, with a header so that headers are checked too. */
export function message(topic: string, fields: Partial<NewMessage> = {}): NewMessage {
  return msg(topic, { headers: { h: 'v' }, ...fields });
}

const topicName = () => `t-${randomUUID()}`;
const ids = (envs: readonly { id: string }[]) => envs.map((e) => e.id).sort();

/**
 * The Outbox port's contract (src/ports/outbox.ts, outbox-admin.ts), run against each driver. `replicas`:
 * whether several outboxes may share one store at once (the Postgres driver), which adds the cases of
 * replicas appending and claiming concurrently.
 */
export function describeOutboxContract(
  driver: string,
  makeStore: () => Promise<ContractStore>,
  options: { replicas: boolean },
): void {
  describe(`outbox contract: ${driver}`, () => {
    let store: ContractStore | undefined;
    afterEach(async () => {
      await store?.cleanup();
      store = undefined;
    });
    const fresh = async (opts?: { maxBytes?: number; retentionMs?: number }) => {
      store = await makeStore();
      return { s: store, outbox: await store.open(opts) };
    };
    const claim = (outbox: Outbox, owner = 'r1', limit = 100) =>
      outbox.claim({ limit, leaseMs: LEASE, owner });

    it('assigns per-key seqs, answers duplicates with their first seq, and refuses an id used on another topic', async () => {
      const { outbox } = await fresh();
      const [t, other] = [topicName(), topicName()];
      const a = [message(t, { key: 'k' }), message(t, { key: 'k' }), message(t), message(t, { key: 'j' })];
      const first = await outbox.append(a);
      expect(first.map((r) => [r.seq, r.duplicate])).toEqual([
        [1, false],
        [2, false],
        [1, false],
        [1, false],
      ]);
      const again = await outbox.append([a[1]!, message(t, { key: 'k' })]);
      expect(again.map((r) => [r.seq, r.duplicate])).toEqual([
        [2, true],
        [3, false],
      ]);
      // All or nothing: the conflict stores nothing, and spends no seq.
      await expect(
        outbox.append([message(t, { key: 'k' }), { ...a[0]!, topic: other }]),
      ).rejects.toMatchObject({
        code: 'MQGATE_ERR_ID_CONFLICT',
      });
      expect((await outbox.append([message(t, { key: 'k' })]))[0]!.seq).toBe(4);
      expect(await outbox.get(a[0]!.id)).toMatchObject({
        id: a[0]!.id,
        topic: t,
        key: 'k',
        seq: 1,
        state: 'accepted',
      });
    });

    it('refuses appends past the byte budget, storing nothing, and frees it on delivery', async () => {
      const { outbox } = await fresh({ maxBytes: 100 });
      const t = topicName();
      const big = message(t, { data: Buffer.alloc(60) });
      await outbox.append([big]);
      await expect(outbox.append([message(t, { data: Buffer.alloc(60) })])).rejects.toMatchObject({
        code: 'MQGATE_ERR_OUTBOX_FULL',
        retryAfterSec: expect.any(Number),
      });
      expect((await outbox.stats()).depth).toBe(1);
      await claim(outbox);
      await outbox.markDelivered(big.id, 'kafka', { partition: 1, offset: '7' });
      expect(await outbox.stats()).toMatchObject({ depth: 0, bytes: 0 });
      await outbox.append([message(t, { data: Buffer.alloc(60) })]);
    });

    it("hands out only a key's lowest open seq, and the next once it is delivered or dead", async () => {
      const { outbox } = await fresh();
      const t = topicName();
      const [k1, k2, k3] = [message(t, { key: 'k' }), message(t, { key: 'k' }), message(t, { key: 'k' })];
      const free = [message(t), message(t)];
      await outbox.append([k1, k2, k3, ...free]);
      const first = await claim(outbox);
      expect(ids(first)).toEqual(ids([k1, ...free]));
      expect(first.find((e) => e.id === k1.id)).toMatchObject({
        seq: 1,
        attempt: 1,
        key: 'k',
        headers: { h: 'v' },
      });
      expect(Buffer.from(first[0]!.data).toString()).toBe('{"n":1}');
      expect(await claim(outbox, 'r2')).toEqual([]);
      await outbox.markDelivered(k1.id, 'kafka', { partition: 3, offset: '42' });
      expect(await outbox.get(k1.id)).toMatchObject({
        state: 'delivered',
        backend: 'kafka',
        partition: 3,
        offset: '42',
      });
      expect(ids(await claim(outbox, 'r2'))).toEqual([k2.id]);
      await outbox.markDead(k2.id, fail);
      expect((await claim(outbox, 'r2')).map((e) => [e.id, e.seq])).toEqual([[k3.id, 3]]);
    });

    it('keeps seq 2 back while seq 1 waits for a retry; a release gives the attempt back', async () => {
      const { s, outbox } = await fresh();
      const t = topicName();
      const [a, b] = [message(t, { key: 'k' }), message(t, { key: 'k' })];
      await outbox.append([a, b]);
      await claim(outbox);
      await outbox.markRetry(
        a.id,
        { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', message: 'down' },
        s.clock.ms + 500,
      );
      expect(await claim(outbox)).toEqual([]);
      s.clock.advance(500);
      expect((await claim(outbox)).map((e) => [e.id, e.attempt])).toEqual([[a.id, 2]]);
      await outbox.release(a.id, s.clock.ms);
      expect((await claim(outbox)).map((e) => [e.id, e.attempt])).toEqual([[a.id, 2]]);
      expect(await outbox.get(a.id)).toMatchObject({
        state: 'delivering',
        error: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', message: 'down' },
      });
    });

    it('lets another owner take an expired lease, and ignores the first owner after that', async () => {
      const { s, outbox } = await fresh();
      const t = topicName();
      const [a, b] = [message(t, { key: 'k' }), message(t, { key: 'k' })];
      await outbox.append([a, b]);
      await claim(outbox, 'r1');
      s.clock.advance(LEASE - 1);
      expect(await claim(outbox, 'r2')).toEqual([]);
      s.clock.advance(1);
      expect((await claim(outbox, 'r2')).map((e) => [e.id, e.attempt])).toEqual([[a.id, 2]]);
      await outbox.markDead(a.id, fail, 'r1');
      await outbox.markRetry(a.id, fail, 0, 'r1');
      await outbox.release(a.id, 0, 'r1');
      expect(await outbox.get(a.id)).toMatchObject({ state: 'delivering', attempts: 2 });
      expect(await claim(outbox, 'r3')).toEqual([]);
      // The broker's ack is the truth whoever reports it; the first receipt stays.
      await outbox.markDelivered(a.id, 'kafka', { offset: '1' });
      await outbox.markDelivered(a.id, 'redis', { offset: '9-0' });
      expect(await outbox.get(a.id)).toMatchObject({ state: 'delivered', backend: 'kafka', offset: '1' });
      expect(ids(await claim(outbox, 'r3'))).toEqual([b.id]);
    });

    it('records mirror acks per backend while delivering', async () => {
      const { outbox } = await fresh();
      const m = message(topicName());
      await outbox.append([m]);
      await outbox.markMirrored(m.id, 'kafka', { partition: 0, offset: '5' });
      expect((await outbox.get(m.id))?.deliveries).toBeUndefined();
      await claim(outbox);
      await outbox.markMirrored(m.id, 'kafka', { partition: 0, offset: '5' });
      await outbox.markMirrored(m.id, 'redis', { offset: '1-0' });
      await outbox.markDelivered(m.id, 'redis', { offset: '1-0' });
      expect((await outbox.get(m.id))?.deliveries).toMatchObject({
        kafka: { partition: 0, offset: '5', at: expect.any(Number) },
        redis: { offset: '1-0' },
      });
    });

    it('prunes delivered messages past retention, keeps dead ones, then forgets their ids', async () => {
      const { s, outbox } = await fresh({ retentionMs: 60_000 });
      const t = topicName();
      const [old, recent, dead] = [message(t), message(t), message(t)];
      await outbox.append([old, recent, dead]);
      await claim(outbox);
      await outbox.markDelivered(old.id, 'kafka', {});
      await outbox.markDead(dead.id, fail);
      s.clock.advance(30_000);
      await outbox.markDelivered(recent.id, 'kafka', {});
      s.clock.advance(30_001);
      expect(await outbox.prune()).toBe(1);
      expect(await outbox.get(old.id)).toBeUndefined();
      expect(await outbox.stats()).toMatchObject({ depth: 0, dead: 1, bytes: 0 });
      expect(await outbox.append([recent])).toMatchObject([{ duplicate: true }]);
      expect(await outbox.append([old])).toMatchObject([{ duplicate: false, seq: 4 }]);
    });

    it('pages dead letters, requeues one ahead of its key, replays one to another topic, deletes one', async () => {
      const { outbox } = await fresh();
      const [t, t2] = [topicName(), topicName()];
      const [k1, k2, k3] = [message(t, { key: 'k' }), message(t, { key: 'k' }), message(t, { key: 'k' })];
      const [x, y] = [message(t), message(t)];
      await outbox.append([k1, k2, k3, x, y]);
      await claim(outbox);
      for (const m of [k1, x, y]) await outbox.markDead(m.id, fail);
      const page1 = await outbox.listDead({ topic: t, limit: 2 });
      const page2 = await outbox.listDead({ topic: t, limit: 2, after: page1.at(-1)!.id });
      expect([...page1, ...page2].map((m) => m.id)).toEqual([k1.id, x.id, y.id].sort());
      expect(page1[0]).toMatchObject({ state: 'dead', error: fail, attempts: 1 });
      expect((await outbox.topicStats()).find((r) => r.topic === t)).toMatchObject({ depth: 2, dead: 3 });

      expect(ids(await claim(outbox))).toEqual([k2.id]);
      await outbox.requeueDead(k1.id);
      expect(await claim(outbox)).toEqual([]); // k2 is in flight: its key waits, k1 included
      await outbox.markRetry(k2.id, fail, 0);
      expect(ids(await claim(outbox))).toEqual([k1.id]);
      await outbox.markDelivered(k1.id, 'kafka', {});
      expect(ids(await claim(outbox))).toEqual([k2.id]);

      const replayed = await outbox.replayDeadTo(x.id, t2);
      expect(replayed).toMatchObject({ id: `${x.id}~replay~${t2}`, seq: 1, duplicate: false });
      expect(await outbox.get(x.id)).toBeUndefined();
      await expect(outbox.replayDeadTo(x.id, t2)).rejects.toMatchObject({ code: 'MQGATE_ERR_NOT_FOUND' });
      await outbox.deleteDead(y.id);
      await expect(outbox.deleteDead(y.id)).rejects.toMatchObject({ code: 'MQGATE_ERR_NOT_FOUND' });
      await expect(outbox.requeueDead(k3.id)).rejects.toMatchObject({ code: 'MQGATE_ERR_NOT_FOUND' });
      expect(await outbox.listDead({ limit: 10 })).toEqual([]);
    });

    it('keeps what it acknowledged across a close and reopen, and refuses appends once closed', async () => {
      const { s, outbox } = await fresh();
      const t = topicName();
      const m = message(t, { key: 'k' });
      await outbox.append([m]);
      await outbox.close();
      await outbox.close();
      await expect(outbox.append([message(t)])).rejects.toMatchObject({ code: 'MQGATE_ERR_DRAINING' });
      const again = await s.open();
      expect(await again.get(m.id)).toMatchObject({ seq: 1, state: 'accepted' });
      expect((await again.append([message(t, { key: 'k' })]))[0]!.seq).toBe(2);
    });

    it('emits commit after each group commit, with its size and duration (for the metrics)', async () => {
      const { outbox } = await fresh();
      const seen: { operations: number; durationMs: number }[] = [];
      const emitter = outbox as unknown as {
        on(event: 'commit', f: (c: (typeof seen)[number]) => void): void;
      };
      emitter.on('commit', (c) => seen.push(c));
      const t = topicName();
      await Promise.all([outbox.append([message(t)]), outbox.append([message(t), message(t)])]);
      expect(seen.reduce((n, c) => n + c.operations, 0)).toBeGreaterThanOrEqual(2);
      expect(seen.every((c) => c.durationMs >= 0)).toBe(true);
    });

    if (!options.replicas) return;

    it('replicas appending to the same keys at once hand out every seq once, in order', async () => {
      const { s } = await fresh();
      const replicas = await Promise.all([s.open(), s.open(), s.open()]);
      const t = topicName();
      const keys = ['a', 'b', 'c', ''];
      const results = await Promise.all(
        Array.from({ length: 240 }, (_, i) =>
          replicas[i % 3]!.append([message(t, { key: keys[i % 4] }), message(t, { key: keys[(i + 1) % 4] })]),
        ),
      );
      const byKey = new Map<string, number[]>();
      for (const [i, r] of results.entries()) {
        for (const [j, one] of r.entries()) {
          const key = keys[(i + j) % 4]!;
          byKey.set(key, [...(byKey.get(key) ?? []), one.seq]);
        }
      }
      for (const seqs of byKey.values()) {
        expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
      }
    });

    it('replicas claiming at once never share a message, nor hold two of one key', async () => {
      const { s } = await fresh();
      const replicas = await Promise.all([s.open(), s.open(), s.open()]);
      const t = topicName();
      const all = Array.from({ length: 300 }, (_, i) => message(t, { key: `k${i % 30}` }));
      await replicas[0]!.append(all);
      const seen = new Set<string>();
      const delivered: { key: string; seq: number }[] = [];
      for (let round = 0; seen.size < all.length && round < 100; round++) {
        const batches = await Promise.all(replicas.map((r, i) => claim(r, `r${i}`, 20)));
        const keysNow = batches.flat().map((e) => e.key);
        expect(new Set(keysNow).size).toBe(keysNow.length);
        for (const [i, batch] of batches.entries()) {
          for (const e of batch) {
            expect(seen.has(e.id)).toBe(false);
            seen.add(e.id);
            delivered.push({ key: e.key!, seq: e.seq });
            await replicas[i]!.markDelivered(e.id, 'kafka', {});
          }
        }
      }
      expect(seen.size).toBe(all.length);
      for (let k = 0; k < 30; k++) {
        const seqs = delivered.filter((d) => d.key === `k${k}`).map((d) => d.seq);
        expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      }
    });

    it('never strands a key when replicas append to it while others deliver its head', async () => {
      const { s } = await fresh();
      const replicas = await Promise.all([s.open(), s.open(), s.open()]);
      const t = topicName();
      const keys = ['a', 'b', 'c'];
      let appending = true;
      const delivered = new Map<string, number[]>();
      const relay = async (i: number) => {
        for (let idle = 0; appending || idle < 20; ) {
          const batch = await claim(replicas[i]!, `r${i}`, 10);
          idle = batch.length === 0 ? idle + 1 : 0;
          await Promise.all(
            batch.map(async (e) => {
              delivered.set(e.key!, [...(delivered.get(e.key!) ?? []), e.seq]);
              await replicas[i]!.markDelivered(e.id, 'kafka', {});
            }),
          );
          if (batch.length === 0) await new Promise((r) => setTimeout(r, 5));
        }
      };
      const relays = [relay(0), relay(1), relay(2)];
      for (let round = 0; round < 60; round++) {
        await Promise.all(replicas.map((r, i) => r.append([message(t, { key: keys[(round + i) % 3] })])));
      }
      appending = false;
      await Promise.all(relays);
      expect((await replicas[0]!.stats()).depth).toBe(0);
      for (const key of keys) expect(delivered.get(key)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    });

    it('shares the budget between replicas', async () => {
      const { s, outbox } = await fresh({ maxBytes: 200 });
      const other = await s.open({ maxBytes: 200 });
      const t = topicName();
      await outbox.append([message(t, { data: Buffer.alloc(120) })]);
      await expect(other.append([message(t, { data: Buffer.alloc(120) })])).rejects.toMatchObject({
        code: 'MQGATE_ERR_OUTBOX_FULL',
      });
      expect((await other.stats()).bytes).toBeGreaterThan(120);
    });
  });
}
