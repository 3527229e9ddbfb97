import { describe, expect, it } from 'vitest';
import { decodeJobData, encodeJobData, jobIdOf, messageIdOf } from '../../adapters/bullmq/codec.js';
import { jobOf } from '../../adapters/bullmq/publisher.js';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

const env: Envelope = {
  id: '0190f3a2-7c1d-7abc-8def-0123456789ab',
  topic: 'jobs',
  key: 'k',
  seq: 2,
  type: 'resize',
  source: '/s',
  time: '2026-01-02T03:04:05.678Z',
  datacontenttype: 'application/octet-stream',
  headers: { a: 'b' },
  data: Buffer.from([0xff, 0xfe, 0x00, 0x80]),
  attempt: 1,
};

describe('bullmq codec', () => {
  it('roundtrips through JSON, binary as base64 and text as text', () => {
    const binary = JSON.parse(JSON.stringify(encodeJobData(env)));
    expect(binary.dataEncoding).toBe('base64');
    expect(decodeJobData(binary)).toEqual({ ...env, subject: undefined, traceparent: undefined });
    const text = { ...env, data: Buffer.from('{"é":1}') };
    const encoded = JSON.parse(JSON.stringify(encodeJobData(text)));
    expect(encoded).toMatchObject({ data: '{"é":1}', dataEncoding: 'utf8' });
    expect(decodeJobData(encoded).data.equals(text.data)).toBe(true);
  });

  it('refuses data mqgate did not write', () => {
    expect(() => decodeJobData({ foo: 1 })).toThrow(MqgateError);
    expect(() => decodeJobData(null)).toThrow(/not an object/);
  });

  it('maps ids to valid, distinct job ids and back', () => {
    const ids = ['uuid-like-id', '42', '-7', '0', 'a:b', 'a%3Ab', '%', '007', '1e3', ':'];
    const jobIds = ids.map(jobIdOf);
    expect(jobIdOf('uuid-like-id')).toBe('uuid-like-id');
    expect(new Set(jobIds).size).toBe(ids.length);
    for (const j of jobIds) {
      expect(j).not.toContain(':');
      expect(`${Number.parseInt(j, 10)}`).not.toBe(j);
    }
    expect(jobIds.map(messageIdOf)).toEqual(ids);
  });

  it('reads delay-ms and priority headers, refusing bad values', () => {
    expect(jobOf({ ...env, headers: { 'delay-ms': '1500', priority: '3' } }).opts).toMatchObject({
      delay: 1500,
      priority: 3,
      jobId: env.id,
    });
    const opts = jobOf(env).opts;
    expect(opts.delay).toBeUndefined();
    expect(opts.priority).toBeUndefined();
    const invalid: Record<string, string>[] = [
      { 'delay-ms': '' },
      { 'delay-ms': '1.0' },
      { priority: '2097152' },
      { priority: 'high' },
    ];
    for (const headers of invalid) {
      expect(() => jobOf({ ...env, headers })).toThrow(
        expect.objectContaining({ code: 'MQGATE_ERR_BACKEND_REJECTED', retriable: false }),
      );
    }
  });
});
