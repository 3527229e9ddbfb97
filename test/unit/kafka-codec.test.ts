import { describe, expect, it } from 'vitest';
import { CE, decodeRecord, encodeRecord, recordBytes } from '../../adapters/kafka/codec.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

const base: Envelope = {
  id: '01890a5d-ac96-774b-bcce-b302099a8057',
  topic: 'orders.created',
  key: 'customer-42',
  seq: 7,
  type: 'order.created',
  source: '/shop',
  subject: 'order/1',
  time: '2026-01-02T03:04:05.678Z',
  datacontenttype: 'application/json',
  headers: { tenant: 'acme', 'x.trace-id': 'z\u00fcrich \u{1f680}' },
  data: Buffer.from('{"total":12.5}'),
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  attempt: 3,
};

/** What a consumer sees: header values and key as Buffers. */
function asConsumed(env: Envelope, partition: number) {
  const record = encodeRecord(env, partition);
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(record.headers ?? {})) headers[k] = Buffer.from(v as string);
  const key = record.key === null || record.key === undefined ? null : Buffer.from(record.key);
  return { record, consumed: { topic: env.topic, key, value: record.value as Buffer, headers } };
}

describe('kafka codec', () => {
  it('writes CloudEvents Kafka binary mode headers, the key and the data bytes', () => {
    const { record } = asConsumed(base, 5);
    expect(record.partition).toBe(5);
    expect(record.key).toBe('customer-42');
    expect(record.value).toEqual(base.data);
    expect(record.timestamp).toBeUndefined();
    expect(record.headers).toMatchObject({
      ce_specversion: '1.0',
      ce_id: base.id,
      ce_source: '/shop',
      ce_type: 'order.created',
      ce_subject: 'order/1',
      ce_time: base.time,
      ce_partitionkey: 'customer-42',
      ce_sequence: '7',
      ce_traceparent: base.traceparent,
      ce_mqgateattempt: '3',
      'content-type': 'application/json',
      tenant: 'acme',
    });
  });

  it('round-trips every field, binary data and unicode header values included', () => {
    const env = { ...base, data: Buffer.from([0xff, 0x00, 0xc3, 0x28, 0xfe]) };
    expect(decodeRecord(asConsumed(env, 1).consumed)).toEqual(env);
  });

  it('round-trips a keyless, minimal message with a null record key', () => {
    const env: Envelope = {
      ...base,
      key: undefined,
      subject: undefined,
      traceparent: undefined,
      headers: {},
      data: Buffer.alloc(0),
      attempt: 1,
    };
    const { record, consumed } = asConsumed(env, 0);
    expect(record.key).toBeNull();
    expect(Object.keys(record.headers ?? {})).not.toContain(CE.partitionkey);
    expect(decodeRecord(consumed)).toEqual(env);
  });

  it('refuses a user header that would shadow content-type', () => {
    const env = { ...base, headers: { 'content-type': 'text/plain' } };
    expect(() => encodeRecord(env, 0)).toThrow(MqgateError);
    try {
      encodeRecord(env, 0);
    } catch (err) {
      expect((err as MqgateError).code).toBe('MQGATE_ERR_BACKEND_REJECTED');
      expect((err as MqgateError).retriable).toBe(false);
    }
  });

  it('refuses to decode a record that is not an mqgate CloudEvent', () => {
    const record = { topic: 't', key: null, value: Buffer.from('x'), headers: { foo: Buffer.from('bar') } };
    expect(() => decodeRecord(record)).toThrow(/not an mqgate record/);
  });

  it('estimates a record at no less than its payload', () => {
    const record = encodeRecord({ ...base, data: Buffer.alloc(10_000) }, 0);
    expect(recordBytes(record)).toBeGreaterThan(10_000 + Buffer.byteLength(base.id));
  });
});
