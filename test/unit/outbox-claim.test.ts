import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, msg, openOutbox, topicName } from './fixtures/outbox-helpers.js';

const LEASE = 10_000;

describe('sqlite outbox claim', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });
  const claim = (owner = 'r1', limit = 100) => h!.outbox.claim({ limit, leaseMs: LEASE, owner });
  const ids = (envs: { id: string }[]) => envs.map((e) => e.id).sort();

  it('hands out only the lowest open seq of a key, and every keyless message', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [k1, k2, k3] = [msg(topic, { key: 'k' }), msg(topic, { key: 'k' }), msg(topic, { key: 'k' })];
    const free = [msg(topic), msg(topic), msg(topic)];
    await h.outbox.append([k1!, k2!, k3!, ...free]);
    const first = await claim();
    expect(ids(first)).toEqual(ids([k1!, ...free]));
    expect(first.every((e) => e.attempt === 1)).toBe(true);
    // Nothing more while k1 is in flight.
    expect(await claim('r2')).toEqual([]);
    await h.outbox.markDelivered(k1!.id, 'kafka', { partition: 3, offset: '42' });
    expect(ids(await claim('r2'))).toEqual([k2!.id]);
    await h.outbox.markDead(k2!.id, { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'no' });
    const third = await claim('r2');
    expect(third.map((e) => [e.id, e.seq])).toEqual([[k3!.id, 3]]);
  });

  it('keeps seq 2 back while seq 1 waits for a retry', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [a, b] = [msg(topic, { key: 'k' }), msg(topic, { key: 'k' })];
    await h.outbox.append([a, b]);
    await claim();
    await h.outbox.markRetry(
      a.id,
      { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', message: 'down' },
      h.clock.ms + 500,
    );
    expect(await claim()).toEqual([]);
    h.clock.advance(500);
    const again = await claim();
    expect(again.map((e) => [e.id, e.attempt])).toEqual([[a.id, 2]]);
    expect(await h.outbox.get(a.id)).toMatchObject({
      state: 'delivering',
      attempts: 2,
      error: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', message: 'down' },
    });
  });

  it('lets another owner take a message whose lease expired, counting the attempt', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [a, b] = [msg(topic, { key: 'k' }), msg(topic, { key: 'k' })];
    await h.outbox.append([a, b]);
    expect(ids(await claim('r1'))).toEqual([a.id]);
    h.clock.advance(LEASE - 1);
    expect(await claim('r2')).toEqual([]);
    h.clock.advance(1);
    const taken = await claim('r2');
    expect(taken.map((e) => [e.id, e.attempt])).toEqual([[a.id, 2]]);
    // The first owner's late ack is the truth about the broker; the second's later ack changes nothing.
    await h.outbox.markDelivered(a.id, 'kafka', { offset: '1' });
    await h.outbox.markDelivered(a.id, 'redis', { offset: '9-0' });
    await h.outbox.markRetry(a.id, { code: 'X', message: 'late' }, 0);
    await h.outbox.markDead(a.id, { code: 'X', message: 'late' });
    expect(await h.outbox.get(a.id)).toMatchObject({ state: 'delivered', backend: 'kafka', offset: '1' });
    expect(ids(await claim('r2'))).toEqual([b.id]);
  });

  it('ignores the retry, release and dead-letter of an owner whose lease was taken over', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [a, b] = [msg(topic, { key: 'k' }), msg(topic, { key: 'k' })];
    await h.outbox.append([a, b]);
    await claim('r1');
    h.clock.advance(LEASE);
    expect(ids(await claim('r2'))).toEqual([a.id]);
    const late = { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'late' };
    await h.outbox.markDead(a.id, late, 'r1');
    await h.outbox.markRetry(a.id, late, 0, 'r1');
    await h.outbox.release(a.id, 0, 'r1');
    // Still r2's: seq 2 stays back until r2 settles seq 1.
    expect(await h.outbox.get(a.id)).toMatchObject({ state: 'delivering', attempts: 2 });
    expect(await claim('r3')).toEqual([]);
    await h.outbox.markDead(a.id, late, 'r2');
    expect(await h.outbox.get(a.id)).toMatchObject({ state: 'dead' });
    expect(ids(await claim('r3'))).toEqual([b.id]);
  });

  it('respects the limit and hands out the oldest first', async () => {
    h = await openOutbox();
    const topic = topicName();
    const all = Array.from({ length: 5 }, () => msg(topic));
    for (const m of all) {
      await h.outbox.append([m]);
      h.clock.advance(1);
    }
    expect((await claim('r1', 2)).map((e) => e.id)).toEqual([all[0]!.id, all[1]!.id]);
    expect((await claim('r1', 10)).map((e) => e.id)).toEqual(all.slice(2).map((m) => m.id));
  });

  it('gives back an untried claim with release() without spending an attempt', async () => {
    h = await openOutbox();
    const m = msg(topicName(), { key: 'k' });
    await h.outbox.append([m]);
    await claim();
    await h.outbox.release(m.id, h.clock.ms + 100);
    expect(await h.outbox.get(m.id)).toMatchObject({ state: 'accepted', attempts: 0 });
    h.clock.advance(100);
    expect((await claim()).map((e) => e.attempt)).toEqual([1]);
  });

  it('reports status and stats through the lifecycle', async () => {
    h = await openOutbox();
    const topic = topicName();
    const [a, b] = [msg(topic), msg(topic)];
    await h.outbox.append([a, b]);
    h.clock.advance(250);
    expect(await h.outbox.stats()).toMatchObject({ depth: 2, oldestAgeMs: 250, dead: 0 });
    await claim();
    await h.outbox.markDelivered(a.id, 'rabbit', { partition: 2 });
    await h.outbox.markDead(b.id, { code: 'MQGATE_ERR_MESSAGE_TOO_LARGE', message: 'too big' });
    expect(await h.outbox.stats()).toEqual({ depth: 0, bytes: 0, oldestAgeMs: 0, dead: 1 });
    expect(await h.outbox.get(a.id)).toMatchObject({
      state: 'delivered',
      backend: 'rabbit',
      partition: 2,
      deliveredAt: new Date(h.clock.ms).toISOString(),
    });
    expect(await h.outbox.get(b.id)).toMatchObject({
      state: 'dead',
      error: { code: 'MQGATE_ERR_MESSAGE_TOO_LARGE', message: 'too big' },
    });
    expect(await h.outbox.get('nope')).toBeUndefined();
  });
});
