import { afterEach, describe, expect, it } from 'vitest';
import type { CommitInfo } from '../../src/outbox/index.js';
import { type Harness, msg, openOutbox, topicName } from './fixtures/outbox-helpers.js';

describe('sqlite outbox append', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it('commits concurrent appends in fewer transactions than calls', async () => {
    h = await openOutbox();
    const commits: CommitInfo[] = [];
    h.outbox.on('commit', (info) => commits.push(info));
    const topic = topicName();
    const results = await Promise.all(Array.from({ length: 50 }, () => h!.outbox.append([msg(topic)])));
    expect(results).toHaveLength(50);
    expect(commits.length).toBeGreaterThanOrEqual(1);
    expect(commits.length).toBeLessThan(50);
    expect(commits.reduce((n, c) => n + c.operations, 0)).toBe(50);
    expect((await h.outbox.stats()).depth).toBe(50);
  });

  it('assigns seq per (topic, key) from 1, keyless ones per topic', async () => {
    h = await openOutbox();
    const [a, b] = [topicName(), topicName()];
    const r1 = await h.outbox.append([msg(a, { key: 'x' }), msg(a, { key: 'y' }), msg(a, { key: 'x' })]);
    const r2 = await h.outbox.append([
      msg(a, { key: 'x' }),
      msg(b, { key: 'x' }),
      msg(a),
      msg(a),
      msg(a, { key: '' }),
    ]);
    expect(r1.map((r) => r.seq)).toEqual([1, 1, 2]);
    expect(r2.map((r) => r.seq)).toEqual([3, 1, 1, 2, 3]);
    expect((await h.outbox.get(r2[4]!.id))?.key).toBeUndefined();
  });

  it('never reuses a seq after its messages were pruned', async () => {
    h = await openOutbox({ retentionMs: 1000 });
    const topic = topicName();
    const [first] = await h.outbox.append([msg(topic, { key: 'k' })]);
    await h.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'r' });
    await h.outbox.markDelivered(first!.id, 'kafka', {});
    h.clock.advance(5000);
    expect(await h.outbox.prune()).toBe(1);
    const [next] = await h.outbox.append([msg(topic, { key: 'k' })]);
    expect(next!.seq).toBe(2);
  });

  it('stores nothing of a call with one invalid message, while other calls of the group commit', async () => {
    h = await openOutbox();
    const topic = topicName();
    const good = msg(topic);
    const ok = msg(topic);
    const bad = msg('.bad');
    const [okResult, badResult] = await Promise.allSettled([
      h.outbox.append([ok]),
      h.outbox.append([good, bad]),
    ]);
    expect(okResult.status).toBe('fulfilled');
    expect(badResult).toMatchObject({ status: 'rejected', reason: { code: 'MQGATE_ERR_INVALID_TOPIC' } });
    expect(await h.outbox.get(good.id)).toBeUndefined();
    expect(await h.outbox.get(ok.id)).toBeDefined();
  });

  it('rolls back a whole call on an id conflict found inside the transaction', async () => {
    h = await openOutbox();
    const [a, b] = [topicName(), topicName()];
    const taken = msg(a);
    await h.outbox.append([taken]);
    const fresh = msg(b, { key: 'k' });
    const other = msg(b);
    const [conflict, okResult] = await Promise.allSettled([
      h.outbox.append([fresh, { ...msg(b), id: taken.id }]),
      h.outbox.append([other]),
    ]);
    expect(conflict).toMatchObject({ status: 'rejected', reason: { code: 'MQGATE_ERR_ID_CONFLICT' } });
    expect(okResult.status).toBe('fulfilled');
    expect(await h.outbox.get(fresh.id)).toBeUndefined();
    // The rolled-back call did not spend a seq of key k.
    const [next] = await h.outbox.append([msg(b, { key: 'k' })]);
    expect(next!.seq).toBe(1);
  });

  it('answers a duplicate on the same topic with the original seq and stores nothing', async () => {
    h = await openOutbox();
    const topic = topicName();
    const m = msg(topic, { key: 'k' });
    await h.outbox.append([msg(topic, { key: 'k' }), m]);
    const before = await h.outbox.stats();
    const again = await h.outbox.append([{ ...m, data: Buffer.from('other') }]);
    expect(again).toEqual([{ id: m.id, seq: 2, duplicate: true }]);
    expect(await h.outbox.stats()).toEqual(before);
  });

  it('treats the same id twice in one call as a duplicate of the first', async () => {
    h = await openOutbox();
    const topic = topicName();
    const m = msg(topic, { key: 'k' });
    const results = await h.outbox.append([m, m]);
    expect(results).toEqual([
      { id: m.id, seq: 1, duplicate: false },
      { id: m.id, seq: 1, duplicate: true },
    ]);
    expect((await h.outbox.stats()).depth).toBe(1);
  });

  it('rejects an id already used on another topic', async () => {
    h = await openOutbox();
    const m = msg(topicName());
    await h.outbox.append([m]);
    await expect(h.outbox.append([{ ...m, topic: topicName() }])).rejects.toMatchObject({
      code: 'MQGATE_ERR_ID_CONFLICT',
    });
  });

  it('rejects past the byte budget, stores nothing, and accepts again once delivered', async () => {
    const size = 100 + '{}'.length; // data + headers JSON
    h = await openOutbox({ maxBytes: size * 3 });
    const topic = topicName();
    const data = Buffer.alloc(100, 1);
    const first = await h.outbox.append([msg(topic, { data }), msg(topic, { data })]);
    const over = [msg(topic, { data }), msg(topic, { data })];
    const err = await h.outbox.append(over).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MQGATE_ERR_OUTBOX_FULL', status: 503, retriable: true });
    expect((err as { retryAfterSec: number }).retryAfterSec).toBeGreaterThanOrEqual(1);
    expect(await h.outbox.get(over[0]!.id)).toBeUndefined();
    expect((await h.outbox.stats()).bytes).toBe(size * 2);
    // A duplicate costs nothing and is still answered when the budget is spent.
    await h.outbox.append([msg(topic, { data })]);
    expect(await h.outbox.append([{ ...msg(topic), id: first[0]!.id }])).toMatchObject([{ duplicate: true }]);
    await h.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'r' });
    await h.outbox.markDelivered(first[0]!.id, 'redis', { offset: '1-0' });
    await h.outbox.markDead(first[1]!.id, { code: 'X', message: 'gone' });
    expect((await h.outbox.stats()).bytes).toBe(size);
    await expect(h.outbox.append(over)).resolves.toHaveLength(2);
  });

  it('counts the budget from the database after a reopen', async () => {
    h = await openOutbox();
    const topic = topicName();
    await h.outbox.append([msg(topic, { data: Buffer.alloc(10), headers: { a: 'b' } })]);
    const bytes = (await h.outbox.stats()).bytes;
    await h.outbox.close();
    const again = await h.reopen();
    expect((await again.stats()).bytes).toBe(bytes);
    expect(bytes).toBe(10 + JSON.stringify({ a: 'b' }).length);
  });

  it('closes idempotently, commits what was queued, and rejects appends after close', async () => {
    h = await openOutbox();
    const topic = topicName();
    const queued = h.outbox.append([msg(topic)]);
    await Promise.all([h.outbox.close(), h.outbox.close()]);
    await expect(queued).resolves.toHaveLength(1);
    await h.outbox.close();
    await expect(h.outbox.append([msg(topic)])).rejects.toMatchObject({ code: 'MQGATE_ERR_DRAINING' });
    await expect(h.outbox.claim({ limit: 1, leaseMs: 1, owner: 'r' })).rejects.toMatchObject({
      code: 'MQGATE_ERR_DRAINING',
    });
  });
});
