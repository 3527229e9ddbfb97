import { describe, expect, it } from 'vitest';
import { decode, encode, parseRoutingKey, routingKeyOf } from '../../adapters/rabbitmq/codec.js';
import { mapAmqpError } from '../../adapters/rabbitmq/errors.js';
import { boundedName, parkingQueueName } from '../../adapters/rabbitmq/topology.js';
import { type Envelope, partitionOf } from '../../src/envelope.js';

const base: Envelope = {
  id: '0190f3a4-7b2c-7def-8000-000000000001',
  topic: 'orders.eu-west_1',
  key: 'customer-42',
  seq: 17,
  type: 'order.created',
  source: '/shop',
  subject: 'order/9',
  time: '2026-11-29T09:16:15.123Z',
  datacontenttype: 'application/json',
  headers: { 'x-request-id': 'r-1', tenant: 'z\u00fcrich \u{1f680}' },
  data: Buffer.from('{"total":12.5}'),
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  attempt: 3,
};

/** What the broker hands a consumer: the published options become properties. */
function delivered(env: Envelope, partitions: number, extraHeaders: Record<string, unknown> = {}) {
  const msg = encode(env, partitions);
  return {
    fields: { routingKey: msg.routingKey },
    properties: { ...msg.options, headers: { ...msg.options.headers, ...extraHeaders } },
    content: msg.content,
  };
}

describe('rabbitmq codec', () => {
  it('maps the envelope to AMQP properties and cloudEvents: headers', () => {
    const msg = encode(base, 6);
    expect(msg.routingKey).toBe(`orders.eu-west_1.${partitionOf('customer-42', 6)}`);
    expect(msg.partition).toBe(partitionOf('customer-42', 6));
    expect(msg.content.equals(base.data)).toBe(true);
    expect(msg.options).toMatchObject({
      messageId: base.id,
      contentType: 'application/json',
      type: 'order.created',
      timestamp: Math.floor(Date.parse(base.time) / 1000),
      appId: 'mqgate',
      persistent: true,
      mandatory: true,
    });
    expect(msg.options.headers).toEqual({
      'x-request-id': 'r-1',
      tenant: 'z\u00fcrich \u{1f680}',
      'cloudEvents:specversion': '1.0',
      'cloudEvents:id': base.id,
      'cloudEvents:source': '/shop',
      'cloudEvents:type': 'order.created',
      'cloudEvents:subject': 'order/9',
      'cloudEvents:time': base.time,
      'cloudEvents:partitionkey': 'customer-42',
      'cloudEvents:sequence': '17',
      'cloudEvents:traceparent': base.traceparent,
    });
    expect(msg.sizeBytes).toBeGreaterThan(base.data.length);
  });

  it('round-trips every attribute, bytes included', () => {
    const binary = { ...base, data: Buffer.from([0xff, 0x00, 0xc3, 0x28, 0xfe]) };
    expect(decode(delivered(binary, 6))).toEqual({ ...binary, attempt: 1 });
  });

  it('leaves optional attributes out and spreads keyless messages by id', () => {
    const bare: Envelope = {
      ...base,
      key: undefined,
      subject: undefined,
      traceparent: undefined,
      headers: {},
    };
    const msg = encode(bare, 4);
    expect(msg.partition).toBe(partitionOf(bare.id, 4));
    expect(Object.keys(msg.options.headers ?? {}).sort()).toEqual(
      ['id', 'sequence', 'source', 'specversion', 'time', 'type'].map((n) => `cloudEvents:${n}`),
    );
    expect(decode(delivered(bare, 4))).toEqual({ ...bare, attempt: 1 });
  });

  it('drops broker headers and counts redeliveries into attempt', () => {
    const env = decode(
      delivered(base, 6, { 'x-delivery-count': 2, 'x-death': [], 'x-first-death-queue': 'q' }),
    );
    expect(env.attempt).toBe(3);
    expect(env.headers).toEqual(base.headers);
  });

  it('splits routing keys of dotted topics at the last dot', () => {
    expect(parseRoutingKey(routingKeyOf('a.b.c', 5))).toEqual({ topic: 'a.b.c', partition: 5 });
    expect(() => parseRoutingKey('nodot')).toThrow();
  });

  it('keeps queue names within 255 bytes and distinct', () => {
    const long = 'x'.repeat(249);
    const a = parkingQueueName('mqgate', long, 1);
    const b = parkingQueueName('mqgate', long, 2);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(255);
    expect(a).not.toBe(b);
    expect(boundedName('short')).toBe('short');
  });
});

describe('rabbitmq error mapping', () => {
  const ctx = { backend: 'rabbit' };
  it.each([
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      'MQGATE_ERR_BACKEND_UNAVAILABLE',
      true,
    ],
    [new Error('connect ETIMEDOUT'), 'MQGATE_ERR_BACKEND_TIMEOUT', true],
    [new Error('Heartbeat timeout'), 'MQGATE_ERR_BACKEND_TIMEOUT', true],
    [
      Object.assign(new Error('Connection closed: 320 (CONNECTION-FORCED)'), { code: 320 }),
      'MQGATE_ERR_BACKEND_UNAVAILABLE',
      true,
    ],
    [
      new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "login refused"'),
      'MQGATE_ERR_BACKEND_REJECTED',
      false,
    ],
    [
      Object.assign(new Error('Channel closed by server: 404 (NOT-FOUND)'), { code: 404 }),
      'MQGATE_ERR_BACKEND_REJECTED',
      true,
    ],
    [
      Object.assign(
        new Error('Channel closed by server: 406 (PRECONDITION-FAILED) with message "inequivalent arg"'),
        { code: 406 },
      ),
      'MQGATE_ERR_BACKEND_REJECTED',
      false,
    ],
    [
      Object.assign(
        new Error(
          'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - message size 200 is larger than configured max size 100"',
        ),
        { code: 406 },
      ),
      'MQGATE_ERR_MESSAGE_TOO_LARGE',
      false,
    ],
    ['something odd', 'MQGATE_ERR_BACKEND_UNAVAILABLE', true],
  ] as const)('%s -> %s', (err, code, retriable) => {
    const mapped = mapAmqpError(err, ctx);
    expect(mapped.code).toBe(code);
    expect(mapped.retriable).toBe(retriable);
    expect(mapped.context).toEqual(ctx);
  });
});
