import { isUtf8 } from 'node:buffer';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

/**
 * The job data mqgate writes: the envelope as JSON (BullMQ stores job data with JSON.stringify). `data` is
 * the payload as text when its bytes are valid UTF-8 (JSON and text payloads stay readable in a Worker),
 * else base64; `dataEncoding` says which, so `decodeJob` gives back the exact bytes either way.
 */
export interface BullmqJobData {
  readonly v: 1;
  readonly id: string;
  readonly topic: string;
  readonly key?: string;
  readonly seq: number;
  readonly type: string;
  readonly source: string;
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: string;
  readonly dataEncoding: 'utf8' | 'base64';
  readonly traceparent?: string;
  readonly attempt: number;
}

export function encodeJobData(env: Envelope): BullmqJobData {
  const utf8 = isUtf8(env.data);
  return {
    v: 1,
    id: env.id,
    topic: env.topic,
    ...(env.key === undefined ? {} : { key: env.key }),
    seq: env.seq,
    type: env.type,
    source: env.source,
    ...(env.subject === undefined ? {} : { subject: env.subject }),
    time: env.time,
    datacontenttype: env.datacontenttype,
    headers: env.headers,
    data: env.data.toString(utf8 ? 'utf8' : 'base64'),
    dataEncoding: utf8 ? 'utf8' : 'base64',
    ...(env.traceparent === undefined ? {} : { traceparent: env.traceparent }),
    attempt: env.attempt,
  };
}

function bad(reason: string): MqgateError {
  return new MqgateError('MQGATE_ERR_INTERNAL', `job data is not an mqgate envelope: ${reason}`);
}

function str(o: Record<string, unknown>, name: string, optional = false): string | undefined {
  const v = o[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw bad(`${name} is not a string`);
  return v;
}

function int(o: Record<string, unknown>, name: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${name} is not an integer`);
  return v;
}

/**
 * The envelope of a job's data (`job.data` in a Worker). Throws a non-retriable `MQGATE_ERR_INTERNAL` when
 * the job was not added by mqgate.
 */
export function decodeJobData(data: unknown): Envelope {
  if (typeof data !== 'object' || data === null) throw bad('not an object');
  const o = data as Record<string, unknown>;
  if (o.v !== 1) throw bad(`unknown version ${String(o.v)}`);
  const encoding = o.dataEncoding;
  if (encoding !== 'utf8' && encoding !== 'base64') throw bad('unknown dataEncoding');
  const headers = o.headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw bad('headers');
  for (const v of Object.values(headers)) if (typeof v !== 'string') throw bad('a header is not a string');
  return {
    id: str(o, 'id')!,
    topic: str(o, 'topic')!,
    key: str(o, 'key', true),
    seq: int(o, 'seq'),
    type: str(o, 'type')!,
    source: str(o, 'source')!,
    subject: str(o, 'subject', true),
    time: str(o, 'time')!,
    datacontenttype: str(o, 'datacontenttype')!,
    headers: headers as Record<string, string>,
    data: Buffer.from(str(o, 'data')!, encoding),
    traceparent: str(o, 'traceparent', true),
    attempt: int(o, 'attempt'),
  };
}

/**
 * The BullMQ job id of a message id. BullMQ refuses custom ids that look like integers or hold `:`, and
 * mqgate ids are any printable ASCII; so `%` and `:` are percent-encoded, and so is the first character of
 * an id that would still read as an integer. Ids without those (UUIDs, most keys) are unchanged. The mapping
 * is one-to-one (`messageIdOf` inverts it), so the same message always maps to the same job.
 */
export function jobIdOf(id: string): string {
  const escaped = id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
  if (`${Number.parseInt(escaped, 10)}` !== escaped) return escaped;
  return `%${escaped.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}${escaped.slice(1)}`;
}

/** The message id of a job id made by `jobIdOf`. */
export function messageIdOf(jobId: string): string {
  return jobId.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
