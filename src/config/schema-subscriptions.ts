import { type Static, Type } from '@sinclair/typebox';
import { Duration, PositiveInt, Strict, Text } from './schema-types.js';

const NAME = '^[A-Za-z0-9._-]{1,200}$';

/**
 * One push subscription: the gateway consumes `topics` as consumer group `group` and POSTs each message to
 * `endpoint` as a binary-mode CloudEvent (docs/http-consumers.md). Shared by the config file
 * (`subscriptions: [...]`) and `POST /v1/subscriptions`, so both accept exactly the same thing.
 */
export const SubscriptionSchema = Strict({
  name: Text('unique name of the subscription', { pattern: NAME }),
  group: Type.Optional(
    Text('consumer group; replicas with the same group share the messages', { pattern: NAME }),
  ),
  topics: Type.Array(Text('topic name'), {
    minItems: 1,
    uniqueItems: true,
    description: 'topics to deliver',
  }),
  endpoint: Text('http:// or https:// URL each message is POSTed to', {
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s]+$',
    maxLength: 2048,
    'x-expect': 'an http(s) URL',
  }),
  concurrency: PositiveInt(16, 'requests in flight at once, never two of one key'),
  ordered: Type.Boolean({ default: true, description: 'per-key order (re-sequenced across backends)' }),
  timeout: Duration('10s', 'how long one POST may take before it counts as failed'),
  retry: Strict(
    {
      maxAttempts: PositiveInt(5, 'failed POSTs (not 429/503) before the message is dead-lettered'),
      backoffInitial: Duration('500ms', 'first retry delay (exponential with full jitter)'),
      backoffMax: Duration('30s', 'longest retry delay'),
    },
    { default: {} },
  ),
  deadLetter: Type.Union([Type.Boolean(), Text('dead-letter topic for every topic of the subscription')], {
    default: true,
    description: 'true: <topic>.dlq; a topic name; false: never dead-letter (retry until accepted)',
  }),
});

export const SubscriptionsSchema = Type.Array(SubscriptionSchema, {
  default: [],
  description: 'push subscriptions (docs/http-consumers.md)',
});

export type SubscriptionFile = Static<typeof SubscriptionSchema>;
