import type { Options } from 'amqplib';
import { type Envelope, partitionOf } from '../../src/envelope.js';

/**
 * Envelope <-> AMQP 0-9-1 message, in the CloudEvents AMQP binding's binary mode: the body is `data` as is,
 * `datacontenttype` is the `content-type` property, every other attribute is a header with the
 * `cloudEvents:` prefix, and user headers travel under their own (lower-case) names.
 */

export const APP_ID = 'mqgate';
export const CE_PREFIX = 'cloudEvents:';
const SPEC_VERSION = '1.0';

/** Headers RabbitMQ itself adds on redelivery and dead-lettering; they are not user headers. */
const BROKER_HEADERS = new Set(['x-delivery-count', 'x-death', 'x-received-from']);
const BROKER_HEADER_PREFIXES = ['x-first-death-', 'x-last-death-'];

/** What `channel.publish()` takes for one envelope. */
export interface EncodedMessage {
  readonly routingKey: string;
  readonly partition: number;
  readonly content: Buffer;
  readonly options: Options.Publish;
  /** Body plus header bytes, compared with the adapter's size limit. */
  readonly sizeBytes: number;
}

/** The parts of a consumed or returned amqplib message that decoding reads. */
export interface AmqpMessageLike {
  readonly fields: { readonly routingKey: string };
  readonly properties: {
    readonly messageId?: unknown;
    readonly contentType?: unknown;
    readonly type?: unknown;
    readonly headers?: Record<string, unknown> | undefined;
  };
  readonly content: Buffer;
}

/** The routing key of a topic partition: `<topic>.<partition>`. Topic names cannot hold `*` or `#`. */
export function routingKeyOf(topic: string, partition: number): string {
  return `${topic}.${partition}`;
}

/** Splits `<topic>.<partition>`; the topic may itself contain dots, the partition never does. */
export function parseRoutingKey(routingKey: string): { topic: string; partition: number } {
  const dot = routingKey.lastIndexOf('.');
  const partition = Number(routingKey.slice(dot + 1));
  if (dot <= 0 || !Number.isInteger(partition)) {
    throw new Error(`routing key ${JSON.stringify(routingKey)} is not <topic>.<partition>`);
  }
  return { topic: routingKey.slice(0, dot), partition };
}

/** Encodes an envelope; the partition is `partitionOf(key ?? id)`, the same on every backend. */
export function encode(envelope: Envelope, partitions: number): EncodedMessage {
  const partition = partitionOf(envelope.key ?? envelope.id, partitions);
  const headers: Record<string, string> = { ...envelope.headers };
  const ce = (name: string, value: string | undefined): void => {
    if (value !== undefined) headers[CE_PREFIX + name] = value;
  };
  ce('specversion', SPEC_VERSION);
  ce('id', envelope.id);
  ce('source', envelope.source);
  ce('type', envelope.type);
  ce('subject', envelope.subject);
  ce('time', envelope.time);
  ce('partitionkey', envelope.key);
  // CloudEvents' `sequence` extension is a string; consumers parse it back to a number.
  ce('sequence', String(envelope.seq));
  ce('traceparent', envelope.traceparent);
  const millis = Date.parse(envelope.time);
  let headerBytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    headerBytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 6;
  }
  return {
    routingKey: routingKeyOf(envelope.topic, partition),
    partition,
    content: envelope.data,
    sizeBytes: envelope.data.length + headerBytes,
    options: {
      messageId: envelope.id,
      contentType: envelope.datacontenttype,
      type: envelope.type,
      // The AMQP timestamp property has whole seconds; the exact time is in cloudEvents:time.
      ...(Number.isFinite(millis) ? { timestamp: Math.floor(millis / 1000) } : {}),
      appId: APP_ID,
      persistent: true,
      // A message that no queue takes, not even a parking queue, comes back as basic.return: never dropped.
      mandatory: true,
      headers,
    },
  };
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function isBrokerHeader(name: string): boolean {
  return BROKER_HEADERS.has(name) || BROKER_HEADER_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * Decodes a message written by `encode` back to its envelope. The topic comes from the routing key;
 * `attempt` is 1 plus the quorum queue's `x-delivery-count` (1 on a first delivery).
 */
export function decode(message: AmqpMessageLike): Envelope {
  const raw = message.properties.headers ?? {};
  const attr = (name: string): string | undefined => text(raw[CE_PREFIX + name]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith(CE_PREFIX) || isBrokerHeader(name)) continue;
    const v = text(value);
    if (v !== undefined) headers[name] = v;
  }
  const { topic } = parseRoutingKey(message.fields.routingKey);
  const id = attr('id') ?? text(message.properties.messageId);
  if (id === undefined) throw new Error('message has neither cloudEvents:id nor message-id');
  const deliveryCount = Number(raw['x-delivery-count'] ?? 0);
  return {
    id,
    topic,
    key: attr('partitionkey'),
    seq: Number(attr('sequence') ?? 0),
    type: attr('type') ?? text(message.properties.type) ?? '',
    source: attr('source') ?? '',
    subject: attr('subject'),
    time: attr('time') ?? '',
    datacontenttype: text(message.properties.contentType) ?? 'application/octet-stream',
    headers,
    data: message.content,
    traceparent: attr('traceparent'),
    attempt: (Number.isFinite(deliveryCount) ? deliveryCount : 0) + 1,
  };
}
