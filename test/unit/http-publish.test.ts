import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestApp, testApp } from '../helpers/test-app.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await t.close();
});

const url = '/v1/topics/orders.created/messages';

async function depth(): Promise<number> {
  return (await t.outbox.stats()).depth;
}

async function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, code });
  expect(await depth()).toBe(0);
}

describe('POST /v1/topics/{topic}/messages', () => {
  it('accepts a JSON message once durable and says where to find it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      payload: { key: 'o-1', type: 'order.created', headers: { tenant: 'acme' }, data: { total: 42 } },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ seq: 1, status: 'accepted' });
    expect(res.headers.location).toBe(`/v1/messages/${body.id}`);
    const status = await t.app.inject({ method: 'GET', url: `/v1/messages/${body.id}` });
    expect(status.json()).toMatchObject({
      id: body.id,
      topic: 'orders.created',
      key: 'o-1',
      seq: 1,
      status: 'accepted',
    });
    const [stored] = await t.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'x' });
    expect(stored).toMatchObject({ id: body.id, type: 'order.created', headers: { tenant: 'acme' } });
    expect(JSON.parse(stored!.data.toString())).toEqual({ total: 42 });
    expect(stored!.datacontenttype).toBe('application/json');
  });

  it('answers 200 duplicate for the same idempotency key and stores nothing twice', async () => {
    const first = await t.app.inject({ method: 'POST', url, payload: { id: 'idem-1', data: 1 } });
    expect(first.statusCode).toBe(202);
    const again = await t.app.inject({ method: 'POST', url, payload: { id: 'idem-1', data: 2 } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id: 'idem-1', seq: 1, duplicate: true });
    expect(await depth()).toBe(1);
  });

  it('numbers messages per key', async () => {
    const seqs: number[] = [];
    for (const key of ['a', 'a', 'b', 'a']) {
      const res = await t.app.inject({ method: 'POST', url, payload: { key, data: key } });
      seqs.push(res.json().seq);
    }
    expect(seqs).toEqual([1, 2, 1, 3]);
  });

  it('takes any other media type as raw bytes with Idempotency-Key and Message-Key', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/octet-stream', 'idempotency-key': 'raw-1', 'message-key': 'k' },
      payload: bytes,
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().id).toBe('raw-1');
    const [stored] = await t.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'x' });
    expect(stored!.data.equals(bytes)).toBe(true);
    expect(stored).toMatchObject({ key: 'k', datacontenttype: 'application/octet-stream' });
  });

  it('reads CloudEvents structured mode', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/cloudevents+json' },
      payload: JSON.stringify({
        specversion: '1.0',
        id: 'ce-1',
        source: '/svc/orders',
        type: 'order.created',
        partitionkey: 'o-9',
        tenant: 'acme',
        datacontenttype: 'application/json',
        data: { n: 1 },
      }),
    });
    expect(res.statusCode).toBe(202);
    const [stored] = await t.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'x' });
    expect(stored).toMatchObject({
      id: 'ce-1',
      key: 'o-9',
      source: '/svc/orders',
      headers: { tenant: 'acme' },
    });
  });

  it('reads CloudEvents binary mode', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'text/plain',
        'ce-specversion': '1.0',
        'ce-id': 'ce-bin-1',
        'ce-source': '/svc',
        'ce-type': 't',
        'ce-partitionkey': 'k2',
        'ce-region': 'eu',
      },
      payload: 'hello',
    });
    expect(res.statusCode).toBe(202);
    const [stored] = await t.outbox.claim({ limit: 10, leaseMs: 1000, owner: 'x' });
    expect(stored).toMatchObject({
      id: 'ce-bin-1',
      key: 'k2',
      headers: { region: 'eu' },
      datacontenttype: 'text/plain',
    });
    expect(stored!.data.toString()).toBe('hello');
  });

  it('waits for delivery with ?wait=delivered and answers 202 when the timeout passes first', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${url}?wait=delivered&timeout=50ms`,
      payload: { data: 1 },
    });
    expect(res.statusCode).toBe(202);
  });
});

describe('bad input is refused with a stable code and stores nothing', () => {
  it('invalid topic name', async () => {
    for (const topic of ['.hidden', 'a%20b', 'x'.repeat(250)]) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/topics/${topic}/messages`,
        payload: { data: 1 },
      });
      await expectProblem(res, 400, 'MQGATE_ERR_INVALID_TOPIC');
    }
  });
  it('no route for the topic', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/topics/payments/messages',
      payload: { data: 1 },
    });
    await expectProblem(res, 404, 'MQGATE_ERR_NO_ROUTE');
  });
  it('malformed JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{"data": ',
    });
    await expectProblem(res, 400, 'MQGATE_ERR_INVALID_BODY');
  });
  it('unknown field', async () => {
    const res = await t.app.inject({ method: 'POST', url, payload: { data: 1, dta: 2 } });
    await expectProblem(res, 400, 'MQGATE_ERR_INVALID_BODY');
  });
  it('missing data', async () => {
    await expectProblem(
      await t.app.inject({ method: 'POST', url, payload: { key: 'k' } }),
      400,
      'MQGATE_ERR_MISSING_DATA',
    );
    const raw = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'text/plain' },
      payload: '',
    });
    await expectProblem(raw, 400, 'MQGATE_ERR_MISSING_DATA');
  });
  it('body over the limit', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(65 * 1024),
    });
    await expectProblem(res, 413, 'MQGATE_ERR_BODY_TOO_LARGE');
  });
  it('unsupported media type', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x--',
    });
    await expectProblem(res, 415, 'MQGATE_ERR_MEDIA_TYPE');
  });
  it('idempotency key empty, too long or not printable', async () => {
    for (const id of ['', 'x'.repeat(201), 'has space']) {
      await expectProblem(
        await t.app.inject({ method: 'POST', url, payload: { id, data: 1 } }),
        400,
        'MQGATE_ERR_INVALID_ID',
      );
    }
    const header = await t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'text/plain', 'idempotency-key': 'y'.repeat(201) },
      payload: 'x',
    });
    await expectProblem(header, 400, 'MQGATE_ERR_INVALID_ID');
  });
  it('headers a backend cannot carry', async () => {
    const cases = [
      { 'bad name': 'v' },
      { ok: 'line\r\nbreak' },
      { cc: 'someone' },
      { ce_id: 'spoof' },
      { big: 'v'.repeat(5000) },
      { n: 1 },
    ];
    for (const headers of cases) {
      const res = await t.app.inject({ method: 'POST', url, payload: { headers, data: 1 } });
      await expectProblem(res, 400, 'MQGATE_ERR_INVALID_HEADER');
    }
  });
  it('a bad wait query', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${url}?wait=delivered&timeout=forever`,
      payload: { data: 1 },
    });
    await expectProblem(res, 400, 'MQGATE_ERR_INVALID_QUERY');
  });
});

describe('POST /v1/topics/{topic}/messages:batch', () => {
  const batchUrl = '/v1/topics/orders.created/messages:batch';
  it('commits all messages in one go and answers in order', async () => {
    const messages = [
      { id: 'b1', key: 'k', data: 1 },
      { id: 'b2', key: 'k', data: 2 },
      { id: 'b3', data: 3 },
    ];
    const res = await t.app.inject({ method: 'POST', url: batchUrl, payload: { messages } });
    expect(res.statusCode).toBe(202);
    expect(res.json().results).toEqual([
      { id: 'b1', seq: 1, status: 'accepted' },
      { id: 'b2', seq: 2, status: 'accepted' },
      { id: 'b3', seq: 1, status: 'accepted' },
    ]);
    expect(await depth()).toBe(3);
  });
  it('is all or nothing: one bad item stores none', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: batchUrl,
      payload: { messages: [{ data: 1 }, { headers: { 'b a d': 'x' }, data: 2 }] },
    });
    await expectProblem(res, 400, 'MQGATE_ERR_INVALID_HEADER');
    expect(res.json().errors).toEqual([
      expect.objectContaining({ index: 1, code: 'MQGATE_ERR_INVALID_HEADER' }),
    ]);
  });
  it('refuses more than the configured count', async () => {
    const messages = Array.from({ length: 11 }, (_, i) => ({ data: i }));
    await expectProblem(
      await t.app.inject({ method: 'POST', url: batchUrl, payload: { messages } }),
      413,
      'MQGATE_ERR_BATCH_TOO_LARGE',
    );
  });
  it('refuses a batch that is not JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: batchUrl,
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    await expectProblem(res, 415, 'MQGATE_ERR_MEDIA_TYPE');
  });
});

describe('budget', () => {
  it('answers 503 with Retry-After once the outbox budget is spent, and accepts again when it drains', async () => {
    await t.close();
    t = await testApp({ maxBytes: 2048 });
    const payload = { data: 'x'.repeat(900) };
    expect((await t.app.inject({ method: 'POST', url, payload })).statusCode).toBe(202);
    expect((await t.app.inject({ method: 'POST', url, payload })).statusCode).toBe(202);
    const full = await t.app.inject({ method: 'POST', url, payload });
    expect(full.statusCode).toBe(503);
    expect(full.json().code).toBe('MQGATE_ERR_OUTBOX_FULL');
    expect(Number(full.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.outbox.stats()).depth).toBe(2);
    const claimed = await t.outbox.claim({ limit: 1, leaseMs: 1000, owner: 'x' });
    await t.outbox.markDelivered(claimed[0]!.id, 'kafka', { partition: 0, offset: '1' });
    expect((await t.app.inject({ method: 'POST', url, payload })).statusCode).toBe(202);
  });
});

describe('reads and ops', () => {
  it('404 problem for an unknown message id and an unknown path', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/messages/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('MQGATE_ERR_NOT_FOUND');
    expect((await t.app.inject({ method: 'GET', url: '/nowhere' })).json().code).toBe('MQGATE_ERR_NOT_FOUND');
  });
  it('health, readiness and the OpenAPI page', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', outbox: { depth: 0 } });
    const docs = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.statusCode).toBe(200);
    expect(Object.keys(docs.json().paths)).toContain('/v1/topics/{topic}/messages');
  });
});
