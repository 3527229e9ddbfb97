import { isValidTopic } from '../envelope.js';
import { MqgateError } from '../errors.js';
import { formatPath, type Problem } from './paths.js';
import type { SubscriptionFile } from './schema-subscriptions.js';
import type { SubscriptionConfig } from './types.js';
import { parseDuration } from './units.js';

/**
 * What the schema cannot check in one subscription: topic names, the endpoint URL (http/https only, no
 * user:password, no fragment), retry delays in order. Paths are relative to the subscription.
 * Reads the data defensively, so the config's cross-checks can run it on data the schema rejected.
 */
export function subscriptionProblems(s: Partial<SubscriptionFile>): Problem[] {
  const problems: Problem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  if (Array.isArray(s.topics)) {
    s.topics.forEach((t, i) => {
      if (typeof t === 'string' && !isValidTopic(t)) add(['topics', i], `invalid topic name "${t}"`);
    });
  }
  if (typeof s.deadLetter === 'string' && !isValidTopic(s.deadLetter)) add(['deadLetter'], 'invalid topic');
  // An endpoint that is not http(s)://... at all is the schema's to report (its pattern).
  if (typeof s.endpoint === 'string' && /^https?:\/\/\S+$/i.test(s.endpoint)) {
    let url: URL | undefined;
    try {
      url = new URL(s.endpoint);
    } catch {
      add(['endpoint'], 'must be an http(s) URL');
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:')
      add(['endpoint'], 'must be an http(s) URL');
    else if (url?.username || url?.password) add(['endpoint'], 'no credentials in the URL');
    else if (url?.hash) add(['endpoint'], 'no #fragment');
  }
  const initial = parseDuration(s.retry?.backoffInitial ?? 500);
  const max = parseDuration(s.retry?.backoffMax ?? 30_000);
  if (initial !== undefined && max !== undefined && initial > max) {
    add(['retry', 'backoffInitial'], 'must not exceed retry.backoffMax');
  }
  return problems;
}

/**
 * A push subscription in runtime form (durations in ms, group defaulted to the name), from a schema-valid
 * definition. Throws MQGATE_ERR_INVALID_SUBSCRIPTION (the first of {@link subscriptionProblems}) for what the
 * schema cannot check; the config file reports those as config errors before this runs.
 */
export function subscriptionFrom(s: SubscriptionFile): SubscriptionConfig {
  const first = subscriptionProblems(s)[0];
  if (first) {
    const what = `${formatPath(first.path)}: ${first.message}`;
    throw new MqgateError('MQGATE_ERR_INVALID_SUBSCRIPTION', `subscription ${s.name}: ${what}`, {
      context: { subscription: s.name },
    });
  }
  const ms = (v: string | number | undefined, fallback: number): number =>
    v === undefined ? fallback : parseDuration(v)!;
  return {
    name: s.name,
    group: s.group ?? s.name,
    topics: [...s.topics],
    endpoint: new URL(s.endpoint).href,
    concurrency: s.concurrency ?? 16,
    ordered: s.ordered ?? true,
    timeoutMs: ms(s.timeout, 10_000),
    retry: {
      maxAttempts: s.retry?.maxAttempts ?? 5,
      initialMs: ms(s.retry?.backoffInitial, 500),
      maxMs: ms(s.retry?.backoffMax, 30_000),
    },
    deadLetter: s.deadLetter ?? true,
  };
}
