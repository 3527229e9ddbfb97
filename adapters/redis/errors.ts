import { type ErrorCode, type ErrorContext, MqgateError } from '../../src/errors.js';

/**
 * Maps what ioredis throws to mqgate's codes. Redis replies carry a stable code as their first word
 * (`READONLY`, `OOM`, `WRONGTYPE`...), which is what this reads; client-side errors (socket closed, offline,
 * timed out) have no reply and are all "the broker is not reachable now".
 *
 * The rule: an error that says something about the broker (down, failing over, full, loading, refusing our
 * credentials) is retriable, so the relay keeps the message and the breaker fails over; only an error that
 * is about this one message is not retriable, and the relay dead-letters it.
 */

interface Mapping {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly why: string;
}

const REPLY_CODES: Readonly<Record<string, Mapping>> = {
  // A replica after a failover, until Sentinel points us at the new master.
  READONLY: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'node is a read-only replica' },
  MASTERDOWN: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'master link down' },
  LOADING: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'loading its dataset' },
  BUSY: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'busy running a script' },
  TRYAGAIN: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'asked to try again' },
  CLUSTERDOWN: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'cluster down' },
  // maxmemory reached: a Redis-wide condition that trimming or scaling clears, not a fault of the message;
  // retriable so the relay fails over instead of dead-lettering everything.
  OOM: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'out of memory (maxmemory)' },
  // Credentials: an operator problem that every message would hit; fail over, do not dead-letter.
  NOAUTH: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'authentication required' },
  WRONGPASS: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'authentication failed' },
  NOPERM: { code: 'MQGATE_ERR_BACKEND_UNAVAILABLE', retriable: true, why: 'ACL forbids the command' },
  // A key of another type holds the stream's name: this partition cannot take the message.
  WRONGTYPE: { code: 'MQGATE_ERR_BACKEND_REJECTED', retriable: false, why: 'stream key holds another type' },
};

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function replyCode(err: Error): string {
  return /^([A-Z]+)\b/.exec(err.message)?.[1] ?? 'ERR';
}

/** Whether a reply says a value was over `proto-max-bulk-len` (the server then also drops the connection). */
function isTooLarge(err: Error): boolean {
  return /invalid bulk length|string exceeds maximum allowed size/i.test(err.message);
}

/**
 * An MqgateError for anything ioredis threw or a pipeline reported. Never returns a driver error; the
 * original is kept as `cause`.
 */
export function mapRedisError(err: unknown, context: ErrorContext = {}): MqgateError {
  if (err instanceof MqgateError) return err;
  const cause = err;
  const message = err instanceof Error ? err.message : String(err);
  if (errorName(err) === 'ReplyError' && err instanceof Error) {
    if (isTooLarge(err)) {
      return new MqgateError('MQGATE_ERR_MESSAGE_TOO_LARGE', `redis: ${message}`, { cause, context });
    }
    const code = replyCode(err);
    const m = REPLY_CODES[code];
    if (m !== undefined) {
      return new MqgateError(m.code, `redis ${m.why}: ${message}`, {
        cause,
        context: { ...context, reply: code },
        retriable: m.retriable,
      });
    }
    // Any other reply error is Redis refusing this command as written.
    return new MqgateError('MQGATE_ERR_BACKEND_REJECTED', `redis rejected the command: ${message}`, {
      cause,
      context: { ...context, reply: code },
    });
  }
  // ioredis' own timeout has no class or code; its text is fixed in ioredis' Command.js.
  if (message === 'Command timed out') {
    return new MqgateError('MQGATE_ERR_BACKEND_TIMEOUT', 'redis did not answer in time', { cause, context });
  }
  // Everything else is client-side: offline ("Stream isn't writeable"), "Connection is closed.",
  // MaxRetriesPerRequestError, ECONNREFUSED/ECONNRESET/ETIMEDOUT, sentinels unreachable. The outcome of a
  // command in flight is unknown, so the caller retries.
  return new MqgateError('MQGATE_ERR_BACKEND_UNAVAILABLE', `redis unavailable: ${message}`, {
    cause,
    context,
  });
}
