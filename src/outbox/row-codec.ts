import type { Envelope } from '../envelope.js';
import { isValidTopic } from '../envelope.js';
import { MqgateError } from '../errors.js';
import type { BackendDelivery, MessageState, MessageStatus, NewMessage } from '../ports/outbox.js';

/** A `messages` row as SQLite returns it. */
export interface MessageRow {
  id: string;
  topic: string;
  key: string | null;
  seq: number;
  type: string;
  source: string;
  subject: string | null;
  time: string;
  datacontenttype: string;
  headers: string;
  data: Buffer;
  traceparent: string | null;
  state: MessageState;
  is_head: number;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  accepted_at: number;
  delivered_at: number | null;
  backend: string | null;
  partition: number | null;
  offset: string | null;
  error_code: string | null;
  error_message: string | null;
  size_bytes: number;
  mirror: string | null;
}

/** The columns a new message is inserted with (named parameters of the insert statement). */
export interface NewRowParams {
  id: string;
  topic: string;
  key: string | null;
  seq: number;
  type: string;
  source: string;
  subject: string | null;
  time: string;
  datacontenttype: string;
  headers: string;
  data: Buffer;
  traceparent: string | null;
  is_head: number;
  now: number;
  size_bytes: number;
}

/** A message checked and encoded for insertion, before the outbox assigns seq and head. */
export interface EncodedMessage {
  readonly message: NewMessage;
  /** `null` for keyless (an absent or empty key). */
  readonly key: string | null;
  readonly headers: string;
  readonly data: Buffer;
  /** Bytes counted against the budget: data plus the headers' JSON. */
  readonly sizeBytes: number;
}

/**
 * Checks one message and encodes its columns. Throws an MqgateError with an input code: the HTTP layer
 * validates first, so reaching this is a programming error upstream, but the store still refuses bad rows.
 */
export function encodeMessage(message: NewMessage): EncodedMessage {
  if (typeof message.id !== 'string' || message.id.length === 0) {
    throw new MqgateError('MQGATE_ERR_INVALID_ID', 'message id must be a non-empty string', {
      context: { topic: message.topic },
    });
  }
  const context = { id: message.id, topic: message.topic };
  if (typeof message.topic !== 'string' || !isValidTopic(message.topic)) {
    throw new MqgateError('MQGATE_ERR_INVALID_TOPIC', `invalid topic '${String(message.topic)}'`, {
      context,
    });
  }
  if (message.key !== undefined && typeof message.key !== 'string') {
    throw new MqgateError('MQGATE_ERR_INVALID_KEY', 'message key must be a string', { context });
  }
  const raw: unknown = message.data;
  if (!(raw instanceof Uint8Array)) {
    throw new MqgateError('MQGATE_ERR_MISSING_DATA', 'message data must be bytes', { context });
  }
  const headers = message.headers ?? {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') {
      throw new MqgateError('MQGATE_ERR_INVALID_HEADER', `header '${name}' must be a string`, { context });
    }
  }
  const headersJson = JSON.stringify(headers);
  // A plain Uint8Array is wrapped without copying; SQLite binds both the same way.
  const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    message,
    // An empty key would sort every such message into one ordered stream by accident; treat it as keyless.
    key: message.key === undefined || message.key === '' ? null : message.key,
    headers: headersJson,
    data,
    sizeBytes: data.byteLength + Buffer.byteLength(headersJson),
  };
}

/** Insert parameters for an encoded message once its seq and head flag are known. */
export function toRowParams(
  encoded: EncodedMessage,
  seq: number,
  isHead: boolean,
  now: number,
): NewRowParams {
  const m = encoded.message;
  return {
    id: m.id,
    topic: m.topic,
    key: encoded.key,
    seq,
    type: m.type,
    source: m.source,
    subject: m.subject ?? null,
    time: m.time,
    datacontenttype: m.datacontenttype,
    headers: encoded.headers,
    data: encoded.data,
    traceparent: m.traceparent ?? null,
    is_head: isHead ? 1 : 0,
    now,
    size_bytes: encoded.sizeBytes,
  };
}

/** The envelope a relay publishes; `attempt` is the attempt this claim starts. */
export function rowToEnvelope(row: MessageRow): Envelope {
  return {
    id: row.id,
    topic: row.topic,
    key: row.key ?? undefined,
    seq: row.seq,
    type: row.type,
    source: row.source,
    subject: row.subject ?? undefined,
    time: row.time,
    datacontenttype: row.datacontenttype,
    headers: JSON.parse(row.headers) as Record<string, string>,
    data: row.data,
    traceparent: row.traceparent ?? undefined,
    attempt: row.attempts,
  };
}

/** What `GET /v1/messages/{id}` shows for a row. */
export function rowToStatus(row: MessageRow): MessageStatus {
  const status: {
    -readonly [K in keyof MessageStatus]: MessageStatus[K];
  } = {
    id: row.id,
    topic: row.topic,
    seq: row.seq,
    state: row.state,
    attempts: row.attempts,
    acceptedAt: new Date(row.accepted_at).toISOString(),
  };
  if (row.key !== null) status.key = row.key;
  if (row.backend !== null) status.backend = row.backend;
  if (row.partition !== null) status.partition = row.partition;
  if (row.offset !== null) status.offset = row.offset;
  if (row.delivered_at !== null) status.deliveredAt = new Date(row.delivered_at).toISOString();
  if (row.error_code !== null) status.error = { code: row.error_code, message: row.error_message ?? '' };
  if (row.mirror !== null) status.deliveries = mirrorOf(row);
  return status;
}

/** The per-backend acknowledgements recorded for a message of a mirror route (empty for other routes). */
export function mirrorOf(row: Pick<MessageRow, 'mirror'>): Record<string, BackendDelivery> {
  return row.mirror === null ? {} : (JSON.parse(row.mirror) as Record<string, BackendDelivery>);
}
