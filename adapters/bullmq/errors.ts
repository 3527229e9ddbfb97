import { type ErrorCode, type ErrorContext, MqgateError } from '../../src/errors.js';

/**
 * Maps what BullMQ and its ioredis connection throw to mqgate's codes; nothing outside this folder sees
 * either library's errors. The rule, as in the redis adapter: a broker condition (down, failing over, full,
 * loading, refusing credentials, timed out) is retriable so the relay keeps the message and fails over; an
 * error about the job itself is `MQGATE_ERR_BACKEND_REJECTED`, not retriable, and the relay dead-letters it.
 */

const RETRIABLE_REPLIES = new Set([
  'READONLY', // a replica after a Sentinel failover, until the client reconnects to the new master
  'MASTERDOWN',
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'OOM', // maxmemory: Redis-wide, not the job's fault
  'NOAUTH',
  'WRONGPASS',
  'NOPERM',
]);

/** ioredis / BullMQ errors that mean "no usable connection"; they have no code to read, only a class name. */
const CONNECTION_ERROR_NAMES = new Set([
  'AbortError',
  'InterruptError',
  'MaxRetriesPerRequestError',
  'ConnectionClosedError',
]);

function unavailable(message: string, cause: unknown, context: ErrorContext): MqgateError {
  return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `bullmq redis unavailable: ${message}`, {
    cause,
    context,
  });
}

/** An MqgateError for anything thrown while adding jobs or probing; the original is kept as `cause`. */
export function mapBullmqError(err: unknown, context: ErrorContext = {}): MqgateError {
  if (err instanceof MqgateError) return err;
  if (!(err instanceof Error)) return unavailable(String(err), err, context);
  const { message } = err;
  if (err.name === 'ReplyError') {
    const reply = /^([A-Z]+)\b/.exec(message)?.[1] ?? 'ERR';
    const code: ErrorCode = RETRIABLE_REPLIES.has(reply)
      ? 'MQGATE_ERR_BACKEND_UNAVAILABLE'
      : 'MQGATE_ERR_BACKEND_REJECTED';
    return new MqgateError(code, `bullmq redis replied: ${message}`, {
      cause: err,
      context: { ...context, reply },
    });
  }
  // ioredis' own timeout: no class or code, fixed text (ioredis Command.js).
  if (message === 'Command timed out') {
    return new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', 'bullmq redis did not answer in time', {
      cause: err,
      context,
    });
  }
  const sysCode = (err as { code?: unknown }).code;
  if (
    CONNECTION_ERROR_NAMES.has(err.name) ||
    typeof sysCode === 'string' || // ECONNREFUSED, ECONNRESET, ETIMEDOUT...
    message.startsWith('Connection is closed') ||
    message.startsWith("Stream isn't writeable") ||
    message.startsWith('All sentinels are unreachable')
  ) {
    return unavailable(message, err, context);
  }
  // What is left is BullMQ refusing the job as given (options, ids, size limits).
  return new MqgateError('MQGATE_ERR_BACKEND_REJECTED', `bullmq refused the job: ${message}`, {
    cause: err,
    context,
  });
}
