import { type ErrorCode, type ErrorContext, MqgateError } from '../../src/errors.js';

/**
 * Maps amqplib and AMQP 0-9-1 errors to mqgate's codes, so that nothing outside this folder sees one.
 *
 * | Broker / client condition                                   | Code                          | Retriable |
 * |-------------------------------------------------------------|-------------------------------|-----------|
 * | socket refused/reset, connection or channel closed, 320, 5xx| MQGATE_ERR_BACKEND_UNAVAILABLE| yes       |
 * | connect or confirm timeout, heartbeat timeout               | MQGATE_ERR_BACKEND_TIMEOUT    | yes       |
 * | basic.nack (queue process failure, reject-publish overflow) | MQGATE_ERR_BACKEND_REJECTED   | yes       |
 * | basic.return (no queue bound, not even the parking queue)   | MQGATE_ERR_BACKEND_REJECTED   | yes       |
 * | 404 NOT_FOUND (exchange deleted under us)                   | MQGATE_ERR_BACKEND_REJECTED   | yes       |
 * | 403 ACCESS_REFUSED, 530 NOT_ALLOWED (credentials, vhost)    | MQGATE_ERR_BACKEND_REJECTED   | no        |
 * | 406 PRECONDITION_FAILED (queue/exchange declared otherwise) | MQGATE_ERR_BACKEND_REJECTED   | no        |
 * | 406 over `max_message_size`, or over the adapter's guard    | MQGATE_ERR_MESSAGE_TOO_LARGE  | no        |
 *
 * Anything unknown is retriable: the port's contract is that an unknown outcome is retried under the same id.
 */

/** AMQP 0-9-1 reply codes (spec section 1.2) that matter to the mapping. */
const ACCESS_REFUSED = 403;
const NOT_FOUND = 404;
const PRECONDITION_FAILED = 406;
const NOT_ALLOWED = 530;

const TIMEOUT_ERRNOS = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Builds an error of the adapter with its context; the cause, if any, stays attached for logs. */
export function rabbitError(
  code: ErrorCode,
  message: string,
  context: ErrorContext,
  options: { cause?: unknown; retriable?: boolean } = {},
): MqgateError {
  return new MqgateError(code, message, { ...options, context });
}

function replyCodeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  // The handshake reports a refused login only in its message, e.g.
  // "Handshake terminated by server: 403 (ACCESS-REFUSED) with message ..." (amqplib lib/connection.js).
  const match = /terminated by server: (\d{3}) /.exec(messageOf(err));
  return match ? Number(match[1]) : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Maps any error thrown or emitted by amqplib to an MqgateError. An MqgateError passes through unchanged. */
export function mapAmqpError(err: unknown, context: ErrorContext, doing = 'request'): MqgateError {
  if (err instanceof MqgateError) return err;
  const text = `${doing} failed: ${messageOf(err)}`;
  const reply = replyCodeOf(err);
  if (reply === ACCESS_REFUSED || reply === NOT_ALLOWED) {
    return rabbitError('MQGATE_ERR_BACKEND_REJECTED', text, context, { cause: err, retriable: false });
  }
  if (reply === PRECONDITION_FAILED) {
    // RabbitMQ signals a body over max_message_size only by a 406 channel close whose text says so
    // (rabbit_channel:check_msg_size); no other field tells it apart from a declare conflict.
    const tooLarge = /larger than configured max size|message size/i.test(messageOf(err));
    return tooLarge
      ? rabbitError('MQGATE_ERR_MESSAGE_TOO_LARGE', text, context, { cause: err })
      : rabbitError('MQGATE_ERR_BACKEND_REJECTED', text, context, { cause: err, retriable: false });
  }
  if (reply === NOT_FOUND) {
    return rabbitError('MQGATE_ERR_BACKEND_REJECTED', text, context, { cause: err, retriable: true });
  }
  const errno = (err as { code?: unknown } | null)?.code;
  if ((typeof errno === 'string' && TIMEOUT_ERRNOS.has(errno)) || /timeout|ETIMEDOUT/i.test(messageOf(err))) {
    return rabbitError('MQGATE_ERR_BACKEND_TIMEOUT', text, context, { cause: err });
  }
  return rabbitError('MQGATE_ERR_BACKEND_UNAVAILABLE', text, context, { cause: err });
}

/** Rejects with a BACKEND_TIMEOUT error when `promise` has not settled within `ms`; clears its timer. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  context: ErrorContext,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(rabbitError('MQGATE_ERR_BACKEND_TIMEOUT', `${what} timed out after ${ms} ms`, context)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
