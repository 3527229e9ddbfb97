import kafkajs from 'kafkajs';
import { type ErrorCode, type ErrorContext, MqgateError } from '../../src/errors.js';

/** Broker answers that refuse the message itself: sending it again cannot help. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const REJECTED = new Set([
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'INVALID_TIMESTAMP',
]);
/** Credentials or ACLs: the gateway's configuration is wrong, not the broker's health. */
const AUTH = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const TIMEOUTS = new Set(['KafkaJSRequestTimeoutError', 'KafkaJSTimeout', 'KafkaJSLockTimeout']);

/** Group answers that mean the member's partitions are being (or were) handed out again. */
const GROUP_MOVED = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR_FOR_GROUP',
  'UNKNOWN_MEMBER_ID',
]);

/**
 * Whether a kafkajs heartbeat failure means a rebalance (or a lost membership): the member must stop handing
 * out messages of its partitions, let kafkajs commit and rejoin. kafkajs' own `isRebalancing` plus an
 * expired member id, which kafkajs also answers with a rejoin.
 */
export function isGroupRebalance(err: unknown): boolean {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' && GROUP_MOVED.has(type);
}

/** Whether an error is the broker refusing a record as too large (the publisher then splits the batch). */
export function isTooLarge(err: MqgateError): boolean {
  return err.code === 'MQGATE_ERR_MESSAGE_TOO_LARGE';
}

/**
 * Maps anything kafkajs throws to an MqgateError; nothing outside adapters/kafka sees a kafkajs error.
 *
 * - Records the broker refuses (too large, invalid, policy) and credential problems: not retriable.
 * - Timeouts: MQGATE_ERR_BACKEND_TIMEOUT, retriable.
 * - Everything else, including kafkajs errors it marks non-retriable but that say nothing about the message
 *   (retries exhausted, producer disconnecting): MQGATE_ERR_BACKEND_UNAVAILABLE, retriable. A wrong "not
 *   retriable" would dead-letter a good message; a wrong "retriable" only costs a retry.
 */
export function toKafkaError(err: unknown, context: ErrorContext, action = 'kafka request'): MqgateError {
  if (err instanceof MqgateError) return err;
  const root = rootCause(err);
  const type = typeof (root as { type?: unknown }).type === 'string' ? (root as { type: string }).type : '';
  const name = root instanceof Error ? root.name : '';
  const detail = root instanceof Error ? root.message : String(root);
  const ctx: ErrorContext = { ...context, ...(type ? { kafka: type } : { kafka: name || 'unknown' }) };
  const make = (code: ErrorCode, retriable?: boolean) =>
    new MqgateError(code, `${action} failed: ${detail}`, {
      cause: err,
      context: ctx,
      ...(retriable === undefined ? {} : { retriable }),
    });
  if (TOO_LARGE.has(type)) return make('MQGATE_ERR_MESSAGE_TOO_LARGE');
  if (REJECTED.has(type)) return make('MQGATE_ERR_BACKEND_REJECTED');
  if (AUTH.has(type) || name === 'KafkaJSSASLAuthenticationError') {
    return make('MQGATE_ERR_BACKEND_REJECTED');
  }
  if (TIMEOUTS.has(name) || type === 'REQUEST_TIMED_OUT') return make('MQGATE_ERR_BACKEND_TIMEOUT');
  return make('MQGATE_ERR_BACKEND_UNAVAILABLE', true);
}

/**
 * kafkajs wraps the last error of an exhausted retry loop in KafkaJSNumberOfRetriesExceeded (which it marks
 * non-retriable) and several failures of one request in KafkaJSAggregateError: the first inner error is the
 * one that says what happened.
 */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let depth = 0; depth < 5; depth++) {
    if (e instanceof kafkajs.KafkaJSNumberOfRetriesExceeded && e.cause) e = e.cause;
    else if (e instanceof kafkajs.KafkaJSAggregateError && e.errors[0]) e = e.errors[0];
    else break;
  }
  return e;
}
