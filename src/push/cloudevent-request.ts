import type { Message } from '../sdk/types.js';

/** Headers mqgate sets itself; a user header of the same name is not copied over them. */
const OWN = new Set([
  'content-type',
  'content-length',
  'host',
  'traceparent',
  'connection',
  'transfer-encoding',
]);

/**
 * The HTTP request of one push delivery: a CloudEvent in binary content mode (CloudEvents HTTP binding 1.0):
 * attributes as `ce-*` headers (`ce-partitionkey` and `ce-sequence` are the extensions mqgate uses), user
 * headers as they are, `content-type` = datacontenttype, the body = the data bytes, plus `traceparent`.
 */
export function cloudEventRequest(message: Message): { headers: Record<string, string>; body: Buffer } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (!OWN.has(name) && !name.startsWith('ce-')) headers[name] = value;
  }
  headers['ce-specversion'] = '1.0';
  headers['ce-id'] = message.id;
  headers['ce-source'] = message.source;
  headers['ce-type'] = message.type;
  headers['ce-time'] = message.time;
  if (message.subject !== undefined) headers['ce-subject'] = message.subject;
  if (message.key !== undefined) headers['ce-partitionkey'] = message.key;
  headers['ce-sequence'] = String(message.seq);
  headers['content-type'] = message.contentType;
  if (message.traceparent !== undefined) headers.traceparent = message.traceparent;
  return { headers, body: message.raw };
}

/**
 * The delay a `Retry-After` header asks for, in ms: delta-seconds or an HTTP-date, capped at `maxMs`;
 * undefined when absent or unparsable.
 */
export function retryAfterMs(value: string | null, now: number, maxMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), maxMs);
}
