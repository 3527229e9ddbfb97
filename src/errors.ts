/**
 * The one registry of mqgate's stable error codes. Clients branch on `code`, never on a message;
 * retry and failover read `retriable`, never the text. docs/errors.md lists every code.
 */

export interface ErrorSpec {
  /** HTTP status the error maps to when it reaches a client. */
  readonly status: number;
  /** Whether trying the same operation again may succeed. */
  readonly retriable: boolean;
  /** Short human title, used as the problem+json `title`. */
  readonly title: string;
}

export const ERRORS = {
  // Input
  MQGATE_ERR_INVALID_TOPIC: { status: 400, retriable: false, title: 'Invalid topic name' },
  MQGATE_ERR_INVALID_BODY: { status: 400, retriable: false, title: 'Invalid request body' },
  MQGATE_ERR_MISSING_DATA: { status: 400, retriable: false, title: 'Message has no data' },
  MQGATE_ERR_INVALID_HEADER: { status: 400, retriable: false, title: 'Invalid message header' },
  MQGATE_ERR_INVALID_ID: { status: 400, retriable: false, title: 'Invalid message id or idempotency key' },
  MQGATE_ERR_INVALID_KEY: { status: 400, retriable: false, title: 'Invalid message key' },
  MQGATE_ERR_INVALID_QUERY: { status: 400, retriable: false, title: 'Invalid query parameter' },
  MQGATE_ERR_BATCH_TOO_LARGE: { status: 413, retriable: false, title: 'Batch over the limit' },
  MQGATE_ERR_BODY_TOO_LARGE: { status: 413, retriable: false, title: 'Body over the limit' },
  MQGATE_ERR_MEDIA_TYPE: { status: 415, retriable: false, title: 'Unsupported media type' },
  MQGATE_ERR_ID_CONFLICT: {
    status: 409,
    retriable: false,
    title: 'Idempotency key already used on another topic',
  },
  // Auth
  MQGATE_ERR_UNAUTHENTICATED: { status: 401, retriable: false, title: 'Credentials missing or invalid' },
  MQGATE_ERR_FORBIDDEN: { status: 403, retriable: false, title: 'Not allowed' },
  MQGATE_ERR_RATE_LIMITED: { status: 429, retriable: true, title: 'Rate limited' },
  // Lookup
  MQGATE_ERR_NO_ROUTE: { status: 404, retriable: false, title: 'No route for topic' },
  MQGATE_ERR_NOT_FOUND: { status: 404, retriable: false, title: 'Not found' },
  MQGATE_ERR_ROUTE_NOT_FOUND: { status: 404, retriable: false, title: 'Route not found' },
  // Availability
  MQGATE_ERR_OUTBOX_FULL: { status: 503, retriable: true, title: 'Outbox budget spent' },
  MQGATE_ERR_DRAINING: { status: 503, retriable: true, title: 'Gateway is shutting down' },
  MQGATE_ERR_OUTBOX_UNAVAILABLE: { status: 503, retriable: true, title: 'Outbox not writable' },
  // Backends (relay side; reach clients only through message status)
  MQGATE_ERR_BACKEND_UNAVAILABLE: { status: 503, retriable: true, title: 'Backend unavailable' },
  MQGATE_ERR_BACKEND_TIMEOUT: { status: 504, retriable: true, title: 'Backend did not answer in time' },
  MQGATE_ERR_BACKEND_REJECTED: { status: 502, retriable: false, title: 'Backend rejected the message' },
  MQGATE_ERR_MESSAGE_TOO_LARGE: { status: 413, retriable: false, title: 'Message too large for the backend' },
  MQGATE_ERR_ATTEMPTS_EXHAUSTED: { status: 502, retriable: false, title: 'Delivery attempts exhausted' },
  // HTTP consumers (push subscriptions, pull with leases)
  MQGATE_ERR_INVALID_SUBSCRIPTION: { status: 400, retriable: false, title: 'Invalid subscription' },
  MQGATE_ERR_SUBSCRIPTION_EXISTS: { status: 409, retriable: false, title: 'Subscription name already used' },
  MQGATE_ERR_SUBSCRIPTION_READONLY: {
    status: 409,
    retriable: false,
    title: 'Subscription comes from the config file',
  },
  MQGATE_ERR_ENDPOINT_FAILED: { status: 502, retriable: true, title: 'Push endpoint did not accept' },
  MQGATE_ERR_ENDPOINT_TIMEOUT: {
    status: 504,
    retriable: true,
    title: 'Push endpoint did not answer in time',
  },
  MQGATE_ERR_PULL_UNSUPPORTED: { status: 422, retriable: false, title: 'Pull not supported on this route' },
  MQGATE_ERR_INVALID_LEASE_TOKEN: { status: 400, retriable: false, title: 'Invalid lease token' },
  // Configuration and internals
  MQGATE_ERR_CONFIG: { status: 500, retriable: false, title: 'Invalid configuration' },
  MQGATE_ERR_INTERNAL: { status: 500, retriable: false, title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Context carried by an error: which backend, topic, message and attempt it concerns. */
export interface ErrorContext {
  backend?: string;
  topic?: string;
  id?: string;
  attempt?: number;
  [key: string]: unknown;
}

export interface MqgateErrorOptions {
  cause?: unknown;
  context?: ErrorContext;
  /** Overrides the code's default retriability (e.g. a broker error known to be transient). */
  retriable?: boolean;
  /** Seconds a client should wait before trying again (sent as `Retry-After`). */
  retryAfterSec?: number;
}

/** An error with a stable code. Everything mqgate throws past a module boundary is one of these. */
export class MqgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, message: string, options: MqgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MqgateError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retriable = options.retriable ?? ERRORS[code].retriable;
    this.context = options.context ?? {};
    this.retryAfterSec = options.retryAfterSec;
  }

  /** A plain object safe to store and to show to clients (no stack, no cause chain). */
  toJSON(): { code: ErrorCode; message: string; retriable: boolean; context: ErrorContext } {
    return { code: this.code, message: this.message, retriable: this.retriable, context: this.context };
  }
}

export function isMqgateError(err: unknown): err is MqgateError {
  return err instanceof MqgateError;
}

/** Wraps anything thrown into an MqgateError, keeping an existing one as it is. */
export function toMqgateError(err: unknown, fallback: ErrorCode = 'MQGATE_ERR_INTERNAL'): MqgateError {
  if (err instanceof MqgateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MqgateError(fallback, message, { cause: err });
}
