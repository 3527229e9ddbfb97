import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../adapters/redis/codec.js';
import { streamKey } from '../../adapters/redis/keys.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

const full: Envelope = {
  id: '0190f3a2-7c1d-7abc-8def-0123456789ab',
  topic: 'orders.created',
  key: 'customer-42',
  seq: 17,
  type: 'com.example.order.created',
  source: '/checkout',
  subject: 'order/9',
  time: '2026-01-02T03:04:05.678Z',
  datacontenttype: 'application/octet-stream',
  headers: { 'content-language': 'fr', 'x-empty': '', 'x-quote': 'a"b\\c\u00e9' },
  data: Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x0a, 0x7b]),
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  attempt: 3,
};

/** What ioredis' Buffer commands hand back: every field name and value as a Buffer. */
function asRedisReply(fields: (string | Buffer)[]): Buffer[] {
  return fields.map((f) => (typeof f === 'string' ? Buffer.from(f) : f));
}

describe('redis codec', () => {
  it('roundtrips every attribute, binary data byte for byte', () => {
    const back = decodeEntry(asRedisReply(encodeEntry(full)));
    expect(back).toEqual(full);
    expect(back.data.equals(full.data)).toBe(true);
  });

  it('roundtrips a minimal envelope and keeps absent optionals absent', () => {
    const { key: _k, subject: _s, traceparent: _t, ...rest } = full;
    const minimal: Envelope = { ...rest, headers: {}, data: Buffer.alloc(0) };
    const fields = encodeEntry(minimal);
    const names = fields.filter((_, i) => i % 2 === 0);
    expect(names).not.toContain('key');
    expect(names).not.toContain('subject');
    expect(names).not.toContain('traceparent');
    const back = decodeEntry(asRedisReply(fields));
    expect(back.key).toBeUndefined();
    expect(back.subject).toBeUndefined();
    expect(back.data.length).toBe(0);
    expect(back).toEqual({ ...minimal, key: undefined, subject: undefined, traceparent: undefined });
  });

  it('keeps an empty key distinct from no key', () => {
    const back = decodeEntry(asRedisReply(encodeEntry({ ...full, key: '' })));
    expect(back.key).toBe('');
  });

  it('writes one field per attribute, data last but attempt', () => {
    const names = encodeEntry(full).filter((_, i) => i % 2 === 0);
    expect(names).toEqual([
      'id',
      'topic',
      'key',
      'seq',
      'type',
      'source',
      'subject',
      'time',
      'datacontenttype',
      'headers',
      'data',
      'traceparent',
      'attempt',
    ]);
  });

  it('accepts string values too (non-Buffer ioredis commands) and ignores unknown fields', () => {
    const fields = encodeEntry({ ...full, data: Buffer.from('{"a":1}') }).map((f) =>
      typeof f === 'string' ? f : f.toString(),
    );
    const back = decodeEntry([...fields, 'extra', 'ignored']);
    expect(back.data.toString()).toBe('{"a":1}');
  });

  it('refuses entries that mqgate did not write', () => {
    const bad = (fields: string[]) => () => decodeEntry(fields);
    expect(bad(['id', 'x'])).toThrow(MqgateError);
    expect(bad(['id'])).toThrow(/odd number/);
    const fields = encodeEntry(full).map(String);
    const seqAt = fields.indexOf('seq');
    const withBadSeq = [...fields];
    withBadSeq[seqAt + 1] = '1e3';
    expect(bad(withBadSeq)).toThrow(/seq/);
    const headersAt = fields.indexOf('headers');
    const withBadHeaders = [...fields];
    withBadHeaders[headersAt + 1] = '{"a":1}';
    expect(bad(withBadHeaders)).toThrow(/header a/);
  });

  it('names one stream per topic partition, hash-tagged per partition', () => {
    expect(streamKey('orders.created', 3)).toBe('mqgate:{orders.created:3}');
  });
});
