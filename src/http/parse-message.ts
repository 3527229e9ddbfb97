import type { IncomingHttpHeaders } from 'node:http';
import { DEFAULT_SOURCE, DEFAULT_TYPE } from '../envelope.js';
import { MqgateError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { NewMessage } from '../ports/outbox.js';
import {
  checkHeaders,
  checkId,
  checkKey,
  checkShortText,
  checkTraceparent,
  type MessageLimits,
} from './message-fields.js';

/** What the HTTP layer knows about one publish request. */
export interface PublishRequestParts {
  readonly topic: string;
  readonly contentType: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly nowMs: number;
}

const JSON_FIELDS = new Set([
  'id',
  'key',
  'type',
  'source',
  'subject',
  'headers',
  'data',
  'data_base64',
  'datacontenttype',
]);
const CE_CORE = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'partitionkey',
  'traceparent',
  'tracestate',
  'sequence',
]);
const CE_EXTENSION_RE = /^[a-z0-9]{1,20}$/;

/** The media type without parameters, lower-case. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined || contentType === '') return 'application/octet-stream';
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'body is empty; expected JSON');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MqgateError('MQGATE_ERR_INVALID_BODY', `malformed JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `data` or `data_base64` of a JSON or CloudEvents body, as bytes and their media type. */
function dataOf(
  obj: Record<string, unknown>,
  declaredType: unknown,
): { data: Buffer; datacontenttype: string } {
  const hasData = 'data' in obj;
  const hasB64 = 'data_base64' in obj;
  if (hasData && hasB64)
    throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'give data or data_base64, not both');
  if (!hasData && !hasB64) throw new MqgateError('MQGATE_ERR_MISSING_DATA', 'the message has no data');
  const type = checkShortText(declaredType, 'datacontenttype');
  if (hasB64) {
    const b64 = obj.data_base64;
    if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
      throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'data_base64 must be base64 text');
    }
    return { data: Buffer.from(b64, 'base64'), datacontenttype: type ?? 'application/octet-stream' };
  }
  const data = obj.data;
  // A JSON value stays JSON; a string under a non-JSON content type is that text itself.
  if (typeof data === 'string' && type !== undefined && !isJsonType(type)) {
    return { data: Buffer.from(data, 'utf8'), datacontenttype: type };
  }
  return { data: Buffer.from(JSON.stringify(data), 'utf8'), datacontenttype: type ?? 'application/json' };
}

export function isJsonType(type: string): boolean {
  const t = mediaType(type);
  return t === 'application/json' || t.endsWith('+json');
}

/** Turns one item of the JSON API (`{ id?, key?, type?, headers?, data }`) into a message. */
export function messageFromJson(
  item: unknown,
  topic: string,
  limits: MessageLimits,
  nowMs: number,
  defaults: { id?: string | undefined; key?: string | undefined; traceparent?: string | undefined } = {},
): NewMessage {
  if (!isObject(item)) throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'a message must be a JSON object');
  for (const field of Object.keys(item)) {
    if (!JSON_FIELDS.has(field)) throw new MqgateError('MQGATE_ERR_INVALID_BODY', `unknown field "${field}"`);
  }
  const id = item.id !== undefined ? checkId(item.id, limits) : defaults.id;
  const key = item.key !== undefined ? checkKey(item.key, limits) : defaults.key;
  const { data, datacontenttype } = dataOf(item, item.datacontenttype);
  return {
    id: id ?? uuidv7(nowMs),
    topic,
    key,
    type: checkShortText(item.type, 'type') ?? DEFAULT_TYPE,
    source: checkShortText(item.source, 'source') ?? DEFAULT_SOURCE,
    subject: checkShortText(item.subject, 'subject'),
    time: new Date(nowMs).toISOString(),
    datacontenttype,
    headers: checkHeaders(item.headers, limits),
    data,
    traceparent: defaults.traceparent,
  };
}

function fromStructuredCloudEvent(parts: PublishRequestParts, limits: MessageLimits): NewMessage {
  const ce = parseJsonBody(parts.body);
  if (!isObject(ce)) throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'a CloudEvent must be a JSON object');
  if (ce.specversion !== '1.0') throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'specversion must be "1.0"');
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(ce)) {
    if (CE_CORE.has(name)) continue;
    if (!CE_EXTENSION_RE.test(name)) {
      throw new MqgateError('MQGATE_ERR_INVALID_BODY', `"${name}" is not a valid CloudEvents attribute name`);
    }
    extensions[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const { data, datacontenttype } = dataOf(ce, ce.datacontenttype);
  return {
    id: checkId(ce.id, limits),
    topic: parts.topic,
    key: checkKey(ce.partitionkey, limits),
    type: checkShortText(ce.type, 'type') ?? DEFAULT_TYPE,
    source: checkShortText(ce.source, 'source', 1024) ?? DEFAULT_SOURCE,
    subject: checkShortText(ce.subject, 'subject'),
    time: new Date(parts.nowMs).toISOString(),
    datacontenttype,
    headers: checkHeaders(extensions, limits),
    data,
    traceparent: checkTraceparent(ce.traceparent) ?? checkTraceparent(header(parts.headers, 'traceparent')),
  };
}

function fromBinaryCloudEvent(parts: PublishRequestParts, limits: MessageLimits): NewMessage {
  const h = parts.headers;
  if (header(h, 'ce-specversion') !== '1.0') {
    throw new MqgateError('MQGATE_ERR_INVALID_BODY', 'ce-specversion must be "1.0"');
  }
  const extensions: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith('ce-')) continue;
    const attr = name.slice(3);
    if (CE_CORE.has(attr)) continue;
    extensions[attr] = Array.isArray(value) ? value.join(',') : (value ?? '');
  }
  if (parts.body.length === 0) throw new MqgateError('MQGATE_ERR_MISSING_DATA', 'the message has no data');
  return {
    id: checkId(header(h, 'ce-id'), limits, 'ce-id'),
    topic: parts.topic,
    key: checkKey(header(h, 'ce-partitionkey'), limits),
    type: checkShortText(header(h, 'ce-type'), 'ce-type') ?? DEFAULT_TYPE,
    source: checkShortText(header(h, 'ce-source'), 'ce-source', 1024) ?? DEFAULT_SOURCE,
    subject: checkShortText(header(h, 'ce-subject'), 'ce-subject'),
    time: new Date(parts.nowMs).toISOString(),
    datacontenttype: parts.contentType ?? 'application/octet-stream',
    headers: checkHeaders(extensions, limits),
    data: parts.body,
    traceparent: checkTraceparent(header(h, 'ce-traceparent') ?? header(h, 'traceparent')),
  };
}

/**
 * Reads one message from a `POST /v1/topics/{topic}/messages` request, in whichever of the four modes it
 * came: the JSON API, CloudEvents structured, CloudEvents binary (`ce-*` headers), or raw bytes with
 * `Idempotency-Key` and `Message-Key`. Throws an MqgateError with a stable code on bad input.
 */
export function parsePublishRequest(parts: PublishRequestParts, limits: MessageLimits): NewMessage {
  const type = mediaType(parts.contentType);
  if (type === 'application/cloudevents-batch+json' || type.startsWith('multipart/')) {
    throw new MqgateError('MQGATE_ERR_MEDIA_TYPE', `${type} is not accepted here; use the :batch endpoint`);
  }
  if (type === 'application/cloudevents+json') return fromStructuredCloudEvent(parts, limits);
  if (header(parts.headers, 'ce-specversion') !== undefined) return fromBinaryCloudEvent(parts, limits);
  const idHeader = header(parts.headers, 'idempotency-key');
  const keyHeader = header(parts.headers, 'message-key');
  const defaults = {
    id: idHeader === undefined ? undefined : checkId(idHeader, limits, 'Idempotency-Key'),
    key: keyHeader === undefined ? undefined : checkKey(keyHeader, limits),
    traceparent: checkTraceparent(header(parts.headers, 'traceparent')),
  };
  if (type === 'application/json') {
    const item = parseJsonBody(parts.body);
    if (isObject(item) && defaults.id !== undefined && item.id !== undefined && item.id !== defaults.id) {
      throw new MqgateError('MQGATE_ERR_INVALID_ID', 'Idempotency-Key and body id differ');
    }
    return messageFromJson(item, parts.topic, limits, parts.nowMs, defaults);
  }
  if (parts.body.length === 0) throw new MqgateError('MQGATE_ERR_MISSING_DATA', 'the message has no data');
  return {
    id: defaults.id ?? uuidv7(parts.nowMs),
    topic: parts.topic,
    key: defaults.key,
    type: DEFAULT_TYPE,
    source: DEFAULT_SOURCE,
    time: new Date(parts.nowMs).toISOString(),
    datacontenttype: parts.contentType ?? 'application/octet-stream',
    headers: {},
    data: parts.body,
    traceparent: defaults.traceparent,
  };
}
