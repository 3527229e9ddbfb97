import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, msg, openOutbox, topicName } from './fixtures/outbox-helpers.js';

describe('sqlite outbox retention and dead letters', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });
  const claimAll = () => h!.outbox.claim({ limit: 100, leaseMs: 1000, owner: 'r' });
  const fail = { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'rejected' };

  it('prunes delivered messages past retention, keeps dead ones, then forgets their ids', async () => {
    h = await openOutbox({ retentionMs: 60_000 });
    const topic = topicName();
    const [old, recent, dead] = [msg(topic), msg(topic), msg(topic)];
    await h.outbox.append([old, recent, dead]);
    await claimAll();
    await h.outbox.markDelivered(old.id, 'kafka', {});
    await h.outbox.markDead(dead.id, fail);
    h.clock.advance(30_000);
    await h.outbox.markDelivered(recent.id, 'kafka', {});
    h.clock.advance(30_001);
    expect(await h.outbox.prune()).toBe(1);
    expect(await h.outbox.get(old.id)).toBeUndefined();
    expect(await h.outbox.get(recent.id)).toMatchObject({ state: 'delivered' });
    expect(await h.outbox.get(dead.id)).toMatchObject({ state: 'dead' });
    // Within retention an id is a duplicate; once pruned it is a new message.
    expect(await h.outbox.append([recent])).toMatchObject([{ duplicate: true }]);
    expect(await h.outbox.append([old])).toMatchObject([{ duplicate: false, seq: 4 }]);
  });

  it('lists dead messages by topic, in pages', async () => {
    h = await openOutbox();
    const [a, b] = [topicName(), topicName()];
    const onA = [msg(a), msg(a), msg(a)];
    const onB = msg(b);
    await h.outbox.append([...onA, onB]);
    await claimAll();
    for (const m of [...onA, onB]) await h.outbox.markDead(m.id, fail);
    const sortedA = onA.map((m) => m.id).sort();
    const page1 = await h.outbox.listDead({ topic: a, limit: 2 });
    const page2 = await h.outbox.listDead({ topic: a, limit: 2, after: page1.at(-1)!.id });
    expect([...page1, ...page2].map((s) => s.id)).toEqual(sortedA);
    expect(page1[0]).toMatchObject({ state: 'dead', error: fail, attempts: 1 });
    expect(await h.outbox.listDead({ limit: 10 })).toHaveLength(4);
  });

  it('requeues a dead message ahead of later messages of its key', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [k1, k2, k3] = [msg(topic, { key: 'k' }), msg(topic, { key: 'k' }), msg(topic, { key: 'k' })];
    await h.outbox.append([k1, k2, k3]);
    await claimAll();
    await h.outbox.markDead(k1.id, fail);
    expect((await claimAll()).map((e) => e.id)).toEqual([k2.id]);
    const bytes = (await h.outbox.stats()).bytes;
    await h.outbox.requeueDead(k1.id);
    expect(await h.outbox.get(k1.id)).toMatchObject({ state: 'accepted', attempts: 0 });
    expect((await h.outbox.stats()).bytes).toBeGreaterThan(bytes);
    // k2 is still in flight under a live lease: its key waits, k1 included.
    expect(await claimAll()).toEqual([]);
    await h.outbox.markRetry(k2.id, fail, 0);
    // Now k1 (seq 1) goes first, k2 and k3 wait behind it.
    expect((await claimAll()).map((e) => [e.id, e.attempt])).toEqual([[k1.id, 1]]);
    await h.outbox.markDelivered(k1.id, 'kafka', {});
    expect((await claimAll()).map((e) => e.id)).toEqual([k2.id]);
    await h.outbox.markDelivered(k2.id, 'kafka', {});
    expect((await claimAll()).map((e) => e.id)).toEqual([k3.id]);
  });

  it('refuses to requeue a message that is not dead', async () => {
    h = await openOutbox();
    const m = msg(topicName());
    await h.outbox.append([m]);
    await expect(h.outbox.requeueDead(m.id)).rejects.toMatchObject({ code: 'MQGATE_ERR_NOT_FOUND' });
    await expect(h.outbox.requeueDead('missing')).rejects.toMatchObject({ code: 'MQGATE_ERR_NOT_FOUND' });
  });
});
