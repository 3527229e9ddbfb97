import { loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { isValidTopic } from '../envelope.js';
import { MqgateError } from '../errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import type { ConsumerOptions, DeadLetterOptions, DedupOptions } from './types.js';

/** Consumer options with every default filled in. */
export interface ResolvedOptions {
  readonly config: Config;
  readonly group: string;
  readonly topics: readonly string[];
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly dedup: DedupOptions;
  readonly retry: RetryPolicy;
  readonly deadLetter: DeadLetterOptions;
  readonly gapTimeoutMs: number;
  /** Undefined: each backend's own default (Kafka 10 s, Redis and RabbitMQ 4 s, src/groups/timing.ts). */
  readonly sessionTimeoutMs: number | undefined;
}

export const DEFAULTS = {
  concurrency: 16,
  maxEntries: 100_000,
  gapTimeoutMs: 5_000,
} as const;

/** Fills in defaults and checks the options; throws MQGATE_ERR_CONFIG naming the bad option. */
export function resolveOptions(options: ConsumerOptions): ResolvedOptions {
  const bad = (what: string) => {
    throw new MqgateError('MQGATE_ERR_CONFIG', `consumer option ${what}`);
  };
  if (typeof options.group !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(options.group)) {
    bad('group: 1..200 characters of [A-Za-z0-9._-]');
  }
  if (!Array.isArray(options.topics) || options.topics.length === 0) bad('topics: at least one topic');
  for (const t of options.topics) if (!isValidTopic(t)) bad(`topics: invalid topic name "${t}"`);
  const int = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min) bad(`${name}: an integer >= ${min}`);
    return v;
  };
  const retry: RetryPolicy = {
    maxAttempts: int('retry.maxAttempts', options.retry?.maxAttempts, DEFAULT_RETRY.maxAttempts, 1),
    initialMs: int('retry.initialMs', options.retry?.initialMs, DEFAULT_RETRY.initialMs, 1),
    maxMs: int('retry.maxMs', options.retry?.maxMs, DEFAULT_RETRY.maxMs, 1),
  };
  const dedup = options.dedup ?? { store: 'memory', maxEntries: DEFAULTS.maxEntries };
  if (dedup.store === 'sqlite' && !dedup.path) bad('dedup.path: required with store sqlite');
  if (dedup.store === 'memory') int('dedup.maxEntries', dedup.maxEntries, DEFAULTS.maxEntries, 1);
  const config =
    typeof options.config === 'object'
      ? options.config
      : loadConfig(options.config ? { file: options.config } : {});
  return {
    config,
    group: options.group,
    topics: [...new Set(options.topics)],
    concurrency: int('concurrency', options.concurrency, DEFAULTS.concurrency, 1),
    ordered: options.ordered ?? true,
    dedup,
    retry,
    deadLetter: options.deadLetter ?? {},
    gapTimeoutMs: int('gapTimeoutMs', options.gapTimeoutMs, DEFAULTS.gapTimeoutMs, 0),
    sessionTimeoutMs:
      options.sessionTimeoutMs === undefined
        ? undefined
        : int('sessionTimeoutMs', options.sessionTimeoutMs, 0, 1_000),
  };
}
