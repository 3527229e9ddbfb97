import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

/**
 * Envelope <-> Redis stream entry. One field per attribute, as DESIGN.md asks, so `XRANGE` in redis-cli
 * shows a readable message:
 *
 * | field           | value                                   |
 * |-----------------|-----------------------------------------|
 * | id              | envelope id                             |
 * | topic           | topic                                   |
 * | key             | partition key (absent when keyless)     |
 * | seq             | decimal                                 |
 * | type, source    | CloudEvents attributes                  |
 * | subject         | absent when unset                       |
 * | time            | RFC 3339                                |
 * | datacontenttype | media type of `data`                    |
 * | headers         | JSON object of string values            |
 * | data            | the payload bytes, unchanged            |
 * | traceparent     | absent when unset                       |
 * | attempt         | decimal                                 |
 *
 * Field values are written as they are (data as a Buffer), so binary payloads stay byte-exact; read them
 * back with the Buffer variants of ioredis (`xrangeBuffer`, or `callBuffer('XREADGROUP', ...)`).
 */
export type StreamFields = (string | Buffer)[];

/** The flat `field value field value ...` list XADD takes. */
export function encodeEntry(env: Envelope): StreamFields {
  const fields: StreamFields = ['id', env.id, 'topic', env.topic];
  if (env.key !== undefined) fields.push('key', env.key);
  fields.push('seq', String(env.seq), 'type', env.type, 'source', env.source);
  if (env.subject !== undefined) fields.push('subject', env.subject);
  fields.push(
    'time',
    env.time,
    'datacontenttype',
    env.datacontenttype,
    'headers',
    JSON.stringify(env.headers),
    'data',
    env.data,
  );
  if (env.traceparent !== undefined) fields.push('traceparent', env.traceparent);
  fields.push('attempt', String(env.attempt));
  return fields;
}

/** Approximate bytes an entry takes on the wire, for logs and size checks. */
export function entryBytes(fields: StreamFields): number {
  let n = 0;
  for (const f of fields) n += typeof f === 'string' ? Buffer.byteLength(f) : f.length;
  return n;
}

function bad(reason: string): MqgateError {
  return new MqgateError('MQGATE_ERR_INTERNAL', `stream entry is not an mqgate envelope: ${reason}`);
}

function toMap(fields: readonly (string | Buffer)[]): Map<string, Buffer> {
  if (fields.length % 2 !== 0) throw bad('odd number of field items');
  const map = new Map<string, Buffer>();
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    map.set(name.toString(), typeof value === 'string' ? Buffer.from(value) : value);
  }
  return map;
}

function decimal(map: Map<string, Buffer>, name: string): number {
  const text = map.get(name)?.toString();
  if (text === undefined || !/^\d+$/.test(text)) throw bad(`field ${name} is not a decimal`);
  return Number(text);
}

function headersOf(raw: Buffer | undefined): Record<string, string> {
  if (raw === undefined) throw bad('missing field headers');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString());
  } catch {
    throw bad('field headers is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('headers not a map');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw bad(`header ${k} is not a string`);
    headers[k] = v;
  }
  return headers;
}

/**
 * The envelope of one stream entry, from the field list ioredis returns (Buffers from the `*Buffer`
 * commands, or strings). Throws a non-retriable `MQGATE_ERR_INTERNAL` when the entry was not written by
 * mqgate (a required field missing or malformed); unknown extra fields are ignored.
 */
export function decodeEntry(fields: readonly (string | Buffer)[]): Envelope {
  const map = toMap(fields);
  const text = (name: string): string => {
    const v = map.get(name);
    if (v === undefined) throw bad(`missing field ${name}`);
    return v.toString();
  };
  const optional = (name: string): string | undefined => map.get(name)?.toString();
  const data = map.get('data');
  if (data === undefined) throw bad('missing field data');
  return {
    id: text('id'),
    topic: text('topic'),
    key: optional('key'),
    seq: decimal(map, 'seq'),
    type: text('type'),
    source: text('source'),
    subject: optional('subject'),
    time: text('time'),
    datacontenttype: text('datacontenttype'),
    headers: headersOf(map.get('headers')),
    data,
    traceparent: optional('traceparent'),
    attempt: decimal(map, 'attempt'),
  };
}
