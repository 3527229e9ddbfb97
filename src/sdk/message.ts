import type { Delivery } from '../ports/subscriber.js';
import type { Message } from './types.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * The handler's view of a delivery on handler attempt `attempt`. `data` is parsed on first read (then kept):
 * a handler that only routes by key or headers, or drops a duplicate, never pays for the parse.
 */
export function toMessage(delivery: Delivery, attempt: number): Message {
  const env = delivery.envelope;
  let parsed: { value: unknown } | undefined;
  return {
    id: env.id,
    topic: env.topic,
    key: env.key,
    seq: env.seq,
    headers: env.headers,
    get data() {
      parsed ??= { value: parseData(env.data, env.datacontenttype) };
      return parsed.value;
    },
    raw: env.data,
    contentType: env.datacontenttype,
    type: env.type,
    source: env.source,
    time: env.time,
    subject: env.subject,
    traceparent: env.traceparent,
    attempt,
    backend: delivery.backend,
    partition: delivery.partition,
    offset: delivery.offset,
  };
}

/** JSON payloads parsed; anything else, or JSON that does not parse, stays bytes (never lost to a parse). */
export function parseData(data: Buffer, contentType: string): unknown {
  if (!JSON_TYPE.test(contentType)) return data;
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return data;
  }
}
