import { isValidTopic } from '../envelope.js';
import { MqgateError } from '../errors.js';
import type { SubscriptionFile } from './schema-subscriptions.js';
import type { SubscriptionConfig } from './types.js';
import { parseDuration } from './units.js';

/**
 * A push subscription in runtime form (durations in ms, group defaulted to the name), from a schema-valid
 * definition. Throws MQGATE_ERR_INVALID_SUBSCRIPTION for what the schema cannot check: topic names, the
 * endpoint URL (http/https only, no user:password, no fragment), retry delays in order.
 */
export function subscriptionFrom(s: SubscriptionFile): SubscriptionConfig {
  const bad = (what: string) =>
    new MqgateError('MQGATE_ERR_INVALID_SUBSCRIPTION', `subscription ${s.name}: ${what}`, {
      context: { subscription: s.name },
    });
  for (const t of s.topics) if (!isValidTopic(t)) throw bad(`invalid topic name "${t}"`);
  if (typeof s.deadLetter === 'string' && !isValidTopic(s.deadLetter)) throw bad('deadLetter: invalid topic');
  let url: URL;
  try {
    url = new URL(s.endpoint);
  } catch {
    throw bad('endpoint: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('endpoint: http or https only');
  if (url.username || url.password) throw bad('endpoint: no credentials in the URL');
  if (url.hash) throw bad('endpoint: no #fragment');
  const ms = (v: string | number | undefined, fallback: number): number => {
    const parsed = v === undefined ? fallback : parseDuration(v);
    if (parsed === undefined || parsed <= 0) throw bad(`invalid duration ${String(v)}`);
    return parsed;
  };
  const retry = {
    maxAttempts: s.retry?.maxAttempts ?? 5,
    initialMs: ms(s.retry?.backoffInitial, 500),
    maxMs: ms(s.retry?.backoffMax, 30_000),
  };
  if (retry.initialMs > retry.maxMs) throw bad('retry.backoffInitial must not exceed retry.backoffMax');
  return {
    name: s.name,
    group: s.group ?? s.name,
    topics: [...s.topics],
    endpoint: url.href,
    concurrency: s.concurrency ?? 16,
    ordered: s.ordered ?? true,
    timeoutMs: ms(s.timeout, 10_000),
    retry,
    deadLetter: s.deadLetter ?? true,
  };
}
