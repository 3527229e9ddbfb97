import { afterEach, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from '../helpers/test-app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const publish = (app: TestApp, topic: string, headers: Record<string, string> = {}) =>
  app.app.inject({
    method: 'POST',
    url: `/v1/topics/${topic}/messages`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: { data: { n: 1 } },
  });

/** Publishes `n` messages to `topic` and dead-letters them through the outbox (claim + markDead). */
async function deadLetters(app: TestApp, topic: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await publish(app, topic)).json().id);
  const claimed = await app.outbox.claim({ limit: 1000, leaseMs: 60_000, owner: 'test' });
  for (const m of claimed) {
    if (ids.includes(m.id))
      await app.outbox.markDead(m.id, { code: 'MQGATE_ERR_BACKEND_REJECTED', message: 'no' });
  }
  return ids;
}

describe('admin: dead-letter store', () => {
  it('lists (paged, by topic), replays one, replays by filter, deletes', async () => {
    t = await testApp();
    const a = await deadLetters(t, 'orders.a', 3);
    const b = await deadLetters(t, 'orders.b', 2);

    const all = await t.app.inject({ method: 'GET', url: '/v1/dlq?limit=4' });
    expect(all.statusCode).toBe(200);
    expect(all.json().messages).toHaveLength(4);
    expect(all.json().messages[0].error.code).toBe('MQGATE_ERR_BACKEND_REJECTED');
    const next = await t.app.inject({ method: 'GET', url: `/v1/dlq?limit=4&after=${all.json().next}` });
    expect(next.json()).toMatchObject({ next: null });
    expect(next.json().messages).toHaveLength(1);
    const onlyB = await t.app.inject({ method: 'GET', url: '/v1/dlq?topic=orders.b' });
    expect(
      onlyB
        .json()
        .messages.map((m: { id: string }) => m.id)
        .sort(),
    ).toEqual([...b].sort());

    const one = await t.app.inject({ method: 'POST', url: `/v1/dlq/${a[0]}/replay` });
    expect(one.statusCode).toBe(202);
    expect((await t.outbox.get(a[0]!))?.state).toBe('accepted');
    expect((await t.app.inject({ method: 'POST', url: `/v1/dlq/${a[0]}/replay` })).statusCode).toBe(404);

    const bulk = await t.app.inject({
      method: 'POST',
      url: '/v1/dlq:replay',
      payload: { topic: 'orders.a', limit: 1 },
    });
    expect(bulk.json()).toEqual({ replayed: 1, more: true });
    const rest = await t.app.inject({
      method: 'POST',
      url: '/v1/dlq:replay',
      payload: { topic: 'orders.a', limit: 10 },
    });
    expect(rest.json()).toEqual({ replayed: 1, more: false });

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/dlq/${b[0]}` });
    expect(del.statusCode).toBe(204);
    expect(await t.outbox.get(b[0]!)).toBeUndefined();
    const gone = await t.app.inject({ method: 'DELETE', url: `/v1/dlq/${b[0]}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('MQGATE_ERR_NOT_FOUND');

    const topics = await t.app.inject({ method: 'GET', url: '/v1/outbox/topics' });
    expect(topics.json().topics).toEqual([
      expect.objectContaining({ topic: 'orders.a', depth: 3, dead: 0 }),
      expect.objectContaining({ topic: 'orders.b', depth: 0, dead: 1 }),
    ]);
  });
});

describe('metrics', () => {
  it('counts accepted messages per topic, publish latency, outbox depth, breaker state, dead letters', async () => {
    t = await testApp();
    for (let i = 0; i < 3; i++) expect((await publish(t, 'orders.m')).statusCode).toBe(202);
    await publish(t, 'orders.m', { 'idempotency-key': 'dup-1' });
    await t.app.inject({
      method: 'POST',
      url: '/v1/topics/orders.m/messages',
      headers: { 'content-type': 'application/json' },
      payload: { id: 'dup-1', data: 1 },
    });
    await deadLetters(t, 'orders.d', 1);
    t.relay.emit('failed', {
      id: 'x',
      topic: 'orders.d',
      backend: 'kafka',
      error: new (await import('../../src/errors.js')).MqgateError('MQGATE_ERR_BACKEND_REJECTED', 'no'),
      attempt: 1,
      dead: true,
    });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    expect(text).toMatch(/mqgate_messages_accepted_total\{topic="orders.m"\} 4/);
    expect(text).toMatch(/mqgate_messages_duplicate_total\{topic="orders.m"\} 1/);
    expect(text).toMatch(/mqgate_publish_duration_seconds_count\{route="single",status="202"\} \d+/);
    expect(text).toMatch(/mqgate_outbox_depth \d+/);
    expect(text).toMatch(/mqgate_outbox_dead 1/);
    expect(text).toContain('mqgate_outbox_group_commit_size_bucket');
    expect(text).toMatch(
      /mqgate_messages_dead_lettered_total\{topic="orders.d",backend="kafka",code="MQGATE_ERR_BACKEND_REJECTED"\} 1/,
    );
    expect(text).toContain('mqgate_backend_state');
  });

  it('caps distinct topic labels; later topics count as `other`', async () => {
    const { TopicLabels } = await import('../../src/metrics/topic-labels.js');
    const labels = new TopicLabels(2);
    expect([labels.label('a'), labels.label('b'), labels.label('c'), labels.label('a')]).toEqual([
      'a',
      'b',
      'other',
      'a',
    ]);
  });
});

describe('rate limits', () => {
  it('429 problem+json with Retry-After once a credential spends its budget; health stays open', async () => {
    t = await testApp({ rateLimit: { max: 3, windowMs: 60_000 } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await publish(t, 'orders.r')).statusCode);
    expect(codes).toEqual([202, 202, 202, 429]);
    const limited = await publish(t, 'orders.r');
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.json().code).toBe('MQGATE_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++)
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('headers that could redirect a message', () => {
  it('rejects RabbitMQ CC and BCC headers (JSON headers and HTTP headers alike)', async () => {
    t = await testApp();
    for (const name of ['CC', 'bcc']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/topics/orders.h/messages',
        headers: { 'content-type': 'application/json' },
        payload: { data: 1, headers: { [name]: 'other-queue' } },
      });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().code).toBe('MQGATE_ERR_INVALID_HEADER');
    }
  });

  it('gives every message a W3C traceparent, keeping the caller’s', async () => {
    t = await testApp();
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const own = await publish(t, 'orders.t', { traceparent: given });
    const fresh = await publish(t, 'orders.t');
    const claimed = await t.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'x' });
    const byId = new Map(claimed.map((m) => [m.id, m.traceparent]));
    expect(byId.get(own.json().id)).toBe(given);
    expect(byId.get(fresh.json().id)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
