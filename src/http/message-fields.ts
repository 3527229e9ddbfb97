import { MqgateError } from '../errors.js';

/** Limits on what one message may carry, below what every backend accepts. */
export interface MessageLimits {
  readonly idMaxLength: number;
  readonly keyMaxBytes: number;
  readonly headerMaxCount: number;
  readonly headerValueMaxBytes: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  idMaxLength: 200,
  keyMaxBytes: 1024,
  headerMaxCount: 64,
  headerValueMaxBytes: 4096,
};

// Printable ASCII without spaces: safe as a Kafka header, an AMQP message-id, a Redis field and a BullMQ job id.
const ID_RE = /^[\x21-\x7e]+$/;
// Header names every backend carries unchanged: AMQP short strings, Kafka header keys, Redis field names.
const HEADER_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// eslint-style control character check: CR, LF and NUL would break HTTP push and some brokers' tooling.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Names that would collide with the envelope's own attributes or redirect a message on RabbitMQ. */
const RESERVED_HEADERS = new Set([
  'cc',
  'bcc',
  'content-type',
  'id',
  'topic',
  'key',
  'seq',
  'type',
  'source',
  'time',
]);
const RESERVED_PREFIXES = ['ce_', 'ce-', 'cloudevents', 'x-mqgate', 'mqgate-'];

export function checkId(id: unknown, limits: MessageLimits, label = 'id'): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new MqgateError('MQGATE_ERR_INVALID_ID', `${label} must be a non-empty string`);
  }
  if (id.length > limits.idMaxLength) {
    throw new MqgateError(
      'MQGATE_ERR_INVALID_ID',
      `${label} is longer than ${limits.idMaxLength} characters`,
    );
  }
  if (!ID_RE.test(id)) {
    throw new MqgateError('MQGATE_ERR_INVALID_ID', `${label} may hold printable ASCII characters only`);
  }
  return id;
}

export function checkKey(key: unknown, limits: MessageLimits): string | undefined {
  if (key === undefined || key === null) return undefined;
  if (typeof key !== 'string' || key.length === 0) {
    throw new MqgateError('MQGATE_ERR_INVALID_KEY', 'key must be a non-empty string');
  }
  if (Buffer.byteLength(key) > limits.keyMaxBytes) {
    throw new MqgateError('MQGATE_ERR_INVALID_KEY', `key is longer than ${limits.keyMaxBytes} bytes`);
  }
  if (CONTROL_RE.test(key)) {
    throw new MqgateError('MQGATE_ERR_INVALID_KEY', 'key may not contain control characters');
  }
  return key;
}

/** Validates user headers; returns a new object with lower-case names. */
export function checkHeaders(headers: unknown, limits: MessageLimits): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new MqgateError('MQGATE_ERR_INVALID_HEADER', 'headers must be an object of string values');
  }
  const entries = Object.entries(headers);
  if (entries.length > limits.headerMaxCount) {
    throw new MqgateError('MQGATE_ERR_INVALID_HEADER', `more than ${limits.headerMaxCount} headers`);
  }
  const out: Record<string, string> = {};
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (!HEADER_NAME_RE.test(name)) {
      throw new MqgateError(
        'MQGATE_ERR_INVALID_HEADER',
        `header name "${rawName.slice(0, 80)}" must be 1-64 characters of [a-z0-9._-]`,
      );
    }
    if (RESERVED_HEADERS.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p))) {
      throw new MqgateError('MQGATE_ERR_INVALID_HEADER', `header name "${name}" is reserved`);
    }
    if (name in out) throw new MqgateError('MQGATE_ERR_INVALID_HEADER', `header "${name}" given twice`);
    if (typeof value !== 'string') {
      throw new MqgateError('MQGATE_ERR_INVALID_HEADER', `header "${name}" must be a string`);
    }
    if (Buffer.byteLength(value) > limits.headerValueMaxBytes) {
      throw new MqgateError(
        'MQGATE_ERR_INVALID_HEADER',
        `header "${name}" is longer than ${limits.headerValueMaxBytes} bytes`,
      );
    }
    if (CONTROL_RE.test(value)) {
      throw new MqgateError(
        'MQGATE_ERR_INVALID_HEADER',
        `header "${name}" may not contain control characters`,
      );
    }
    out[name] = value;
  }
  return out;
}

const TRACEPARENT_RE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A W3C traceparent if well formed; a malformed one is dropped, as the trace context spec asks. */
export function checkTraceparent(value: unknown): string | undefined {
  return typeof value === 'string' && TRACEPARENT_RE.test(value) ? value : undefined;
}

export function checkShortText(value: unknown, field: string, maxLength = 256): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || CONTROL_RE.test(value)) {
    throw new MqgateError(
      'MQGATE_ERR_INVALID_BODY',
      `${field} must be a string of 1-${maxLength} characters without control characters`,
    );
  }
  return value;
}
