import { afterEach, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from '../helpers/test-app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const routes = [{ match: 'orders.*', backends: ['kafka'], mode: 'failover' as const }];

async function publish(app: TestApp, topic: string, body: object, headers: Record<string, string> = {}) {
  const res = await app.app.inject({
    method: 'POST',
    url: `/v1/topics/${topic}/messages`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: body,
  });
  expect(res.statusCode).toBe(202);
  return res.json() as { id: string; seq: number };
}

/** Claims everything open and dead-letters the given ids. */
async function kill(app: TestApp, ids: readonly string[]): Promise<void> {
  const claimed = await app.outbox.claim({ limit: 1000, leaseMs: 60_000, owner: 'test' });
  for (const m of claimed) {
    if (ids.includes(m.id))
      await app.outbox.markDead(m.id, { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'no' });
  }
}

describe('dead-letter replay to another topic', () => {
  it('re-accepts the message on the target topic as a new message and deletes the dead one', async () => {
    t = await testApp({ routes });
    const earlier = await publish(t, 'orders.retry', { data: { n: 0 }, key: 'k1' });
    const dead = await publish(t, 'orders.a', { data: { n: 1 }, key: 'k1', headers: { tenant: 'x' } });
    await kill(t, [dead.id]);

    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/dlq/${dead.id}/replay`,
      payload: { topic: 'orders.retry' },
    });
    expect(res.statusCode).toBe(202);
    const newId = `${dead.id}~replay~orders.retry`;
    // The key's next seq on the target topic (the earlier message there had seq 1).
    expect(res.json()).toEqual({
      id: newId,
      status: 'accepted',
      topic: 'orders.retry',
      seq: earlier.seq + 1,
      replayedFrom: dead.id,
    });
    expect(await t.outbox.get(dead.id)).toBeUndefined();
    expect(await t.outbox.get(newId)).toMatchObject({ topic: 'orders.retry', key: 'k1', state: 'accepted' });
    const claimed = await t.outbox.claim({ limit: 10, leaseMs: 60_000, owner: 'test2' });
    const env = claimed.find((e) => e.id === newId);
    // k1 on orders.retry still has seq 1 open (claimed by 'test'), so the copy waits behind it.
    expect(env).toBeUndefined();
    await t.outbox.markDelivered(earlier.id, 'kafka', {});
    const [copy] = await t.outbox.claim({ limit: 10, leaseMs: 60_000, owner: 'test2' });
    expect(copy).toMatchObject({ id: newId, key: 'k1', headers: { tenant: 'x', 'replayed-from': dead.id } });
    expect(JSON.parse(copy!.data.toString())).toEqual({ n: 1 });
  });

  it('is all-or-nothing: unknown route 404, taken id 409, and the dead message stays', async () => {
    t = await testApp({ routes });
    const dead = await publish(t, 'orders.a', { data: 1 });
    await kill(t, [dead.id]);
    const noRoute = await t.app.inject({
      method: 'POST',
      url: `/v1/dlq/${dead.id}/replay`,
      payload: { topic: 'payments.x' },
    });
    expect(noRoute.statusCode).toBe(404);
    expect(noRoute.json().code).toBe('MQGATE_ERR_NO_ROUTE');

    await publish(t, 'orders.b', { data: 2 }, { 'idempotency-key': `${dead.id}~replay~orders.c` });
    const conflict = await t.app.inject({
      method: 'POST',
      url: `/v1/dlq/${dead.id}/replay`,
      payload: { topic: 'orders.c' },
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('MQGATE_ERR_ID_CONFLICT');
    expect(await t.outbox.get(dead.id)).toMatchObject({ state: 'dead' });
    expect((await t.outbox.listDead({ limit: 10 })).map((m) => m.id)).toEqual([dead.id]);

    // Replaying "to" its own topic is the plain replay: same id and seq.
    const same = await t.app.inject({
      method: 'POST',
      url: `/v1/dlq/${dead.id}/replay`,
      payload: { topic: 'orders.a' },
    });
    expect(same.json()).toMatchObject({ id: dead.id, seq: dead.seq, topic: 'orders.a' });
  });

  it('bulk: toTopic moves every dead message of the filter, each as a new message', async () => {
    t = await testApp({ routes });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await publish(t, 'orders.a', { data: i, key: `k${i}` })).id);
    const other = await publish(t, 'orders.b', { data: 'b' });
    await kill(t, [...ids, other.id]);

    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/dlq:replay',
      payload: { topic: 'orders.a', toTopic: 'orders.retry', limit: 3 },
    });
    expect(res.json()).toEqual({ replayed: 3, more: true });
    const rest = await t.app.inject({
      method: 'POST',
      url: '/v1/dlq:replay',
      payload: { topic: 'orders.a', toTopic: 'orders.retry' },
    });
    expect(rest.json()).toEqual({ replayed: 2, more: false });
    for (const id of ids) {
      expect(await t.outbox.get(id)).toBeUndefined();
      expect(await t.outbox.get(`${id}~replay~orders.retry`)).toMatchObject({ topic: 'orders.retry' });
    }
    expect((await t.outbox.listDead({ limit: 10 })).map((m) => m.id)).toEqual([other.id]);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/dlq:replay', payload: { toTopic: 'nope' } });
    expect(bad.json().code).toBe('MQGATE_ERR_NO_ROUTE');
  });
});
