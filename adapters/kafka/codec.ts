import type { IHeaders, Message } from 'kafkajs';
import type { Envelope } from '../../src/envelope.js';
import { MqgateError } from '../../src/errors.js';

/**
 * Envelope <-> Kafka record in CloudEvents' Kafka protocol binding, binary content mode
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md):
 * the record value is the data bytes, the record key the partition key, each attribute a `ce_` header and
 * `datacontenttype` the `content-type` header. mqgate's delivery attempt travels as the `ce_mqgateattempt`
 * extension. User headers are copied as they are: the HTTP API keeps them to `[a-z0-9._-]` and away from
 * the `ce_` prefix, so they never collide with an attribute.
 */
export const CE = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  subject: 'ce_subject',
  time: 'ce_time',
  partitionkey: 'ce_partitionkey',
  sequence: 'ce_sequence',
  traceparent: 'ce_traceparent',
  attempt: 'ce_mqgateattempt',
  contentType: 'content-type',
} as const;

const SPEC_VERSION = '1.0';
/** The header names that carry envelope attributes; other `ce_` headers (unknown extensions) are dropped. */
const ATTRIBUTES: ReadonlySet<string> = new Set(Object.values(CE));

/** A consumed record as kafkajs hands it over (`EachMessagePayload.message` plus its topic). */
export interface KafkaRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders | undefined;
}

/**
 * The Kafka record of an envelope, on the given partition. Throws MQGATE_ERR_BACKEND_REJECTED (not
 * retriable) when a user header would shadow the `content-type` header, the one name the binding takes
 * outside the `ce_` prefix.
 */
export function encodeRecord(env: Envelope, partition: number): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(env.headers)) {
    if (name === CE.contentType || name.startsWith('ce_')) {
      throw new MqgateError('MQGATE_ERR_BACKEND_REJECTED', `header "${name}" is reserved on Kafka`, {
        context: { topic: env.topic, id: env.id, header: name },
      });
    }
    headers[name] = value;
  }
  headers[CE.specversion] = SPEC_VERSION;
  headers[CE.id] = env.id;
  headers[CE.source] = env.source;
  headers[CE.type] = env.type;
  headers[CE.time] = env.time;
  headers[CE.sequence] = String(env.seq);
  headers[CE.attempt] = String(env.attempt);
  headers[CE.contentType] = env.datacontenttype;
  if (env.subject !== undefined) headers[CE.subject] = env.subject;
  if (env.key !== undefined) headers[CE.partitionkey] = env.key;
  if (env.traceparent !== undefined) headers[CE.traceparent] = env.traceparent;
  // No timestamp: the broker's clock stamps the record. The accept time (which may be hours old after an
  // outage) is in ce_time; as the record timestamp it would make retention delete the record early.
  return { key: env.key ?? null, value: env.data, partition, headers };
}

/**
 * The envelope of a consumed record. Throws MQGATE_ERR_BACKEND_REJECTED when the record is not an mqgate
 * CloudEvent (no `ce_id`, wrong spec version, bad sequence).
 */
export function decodeRecord(record: KafkaRecord): Envelope {
  // Runs for every consumed record: one pass over the headers, no intermediate map or entry arrays.
  const attrs: Partial<Record<(typeof CE)[keyof typeof CE], string>> = {};
  const headers: Record<string, string> = {};
  const raw = record.headers ?? {};
  for (const name in raw) {
    const value = headerText(raw[name]);
    if (value === undefined) continue;
    if (ATTRIBUTES.has(name)) attrs[name as (typeof CE)[keyof typeof CE]] = value;
    else if (!name.startsWith('ce_')) headers[name] = value;
  }
  if (attrs[CE.specversion] !== SPEC_VERSION)
    notMqgate(record.topic, `${CE.specversion} is not ${SPEC_VERSION}`);
  const id = attrs[CE.id] ?? notMqgate(record.topic, `no ${CE.id}`);
  const seq = Number(attrs[CE.sequence]);
  if (!Number.isSafeInteger(seq) || seq < 1) notMqgate(record.topic, `bad ${CE.sequence}`);
  const attempt = Number(attrs[CE.attempt] ?? '1');
  return {
    id,
    topic: record.topic,
    key: attrs[CE.partitionkey] ?? record.key?.toString('utf8'),
    seq,
    type: attrs[CE.type] ?? notMqgate(record.topic, `no ${CE.type}`),
    source: attrs[CE.source] ?? notMqgate(record.topic, `no ${CE.source}`),
    subject: attrs[CE.subject],
    time: attrs[CE.time] ?? notMqgate(record.topic, `no ${CE.time}`),
    datacontenttype: attrs[CE.contentType] ?? 'application/octet-stream',
    headers,
    data: record.value ?? Buffer.alloc(0),
    traceparent: attrs[CE.traceparent],
    attempt: Number.isSafeInteger(attempt) && attempt >= 1 ? attempt : 1,
  };
}

function notMqgate(topic: string, why: string): never {
  throw new MqgateError('MQGATE_ERR_BACKEND_REJECTED', `not an mqgate record: ${why}`, {
    context: { topic },
  });
}

function headerText(raw: IHeaders[string]): string | undefined {
  // Kafka allows a header name twice; kafkajs then gives an array. mqgate writes each name once.
  const one = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (one === undefined) return undefined;
  return Buffer.isBuffer(one) ? one.toString('utf8') : one;
}

// Record batch v2 framing (https://kafka.apache.org/documentation/#recordbatch): 61 bytes of batch header,
// and per record up to 5 bytes of length plus attributes, deltas and counts as varints.
/** Bytes of a record batch besides its records. */
export const BATCH_OVERHEAD_BYTES = 61;
const RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
const HEADER_OVERHEAD_BYTES = 10;

/** An upper estimate of a record's size inside a batch, to keep batches under `max.message.bytes`. */
export function recordBytes(message: Message): number {
  let n = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    n += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + byteLength(value as string | Buffer | undefined);
  }
  return n;
}

function byteLength(v: string | Buffer | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}
