import { type Static, Type } from '@sinclair/typebox';
import { AuthSchema, RateLimitSchema } from './schema-auth.js';
import { BackendsSchema } from './schema-backends.js';
import { SubscriptionsSchema } from './schema-subscriptions.js';
import { Duration, PositiveInt, Size, Strict, StringEnum, Tagged, Text } from './schema-types.js';

/**
 * The one schema of the config file (YAML, or an object given to `parseConfig`), with each default beside its
 * key in the file's own units. Sections with a default object are filled in from these defaults before
 * validation; `backends` and `routes` have none and must be given.
 */

export const ServerSchema = Strict(
  {
    host: Text('address to listen on', { default: '0.0.0.0' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'HTTP port (0: any free port)',
    }),
    bodyLimit: Size('1mb', 'largest request body of a single-message publish'),
    // No default: unset means no delay (a duration of 0 is not valid in the file).
    shutdownDelay: Type.Optional(
      Type.Unsafe<string | number>({
        type: ['string', 'integer'],
        'x-unit': 'duration',
        description: 'on SIGTERM, how long /readyz answers 503 before the listener closes; unset: none',
      }),
    ),
  },
  { default: {} },
);

const outboxCommon = {
  maxBytes: Size('1gb', 'budget of undelivered message bytes; past it publishes answer 503'),
  retention: Duration('24h', 'how long delivered messages (and their idempotency keys) are kept'),
};

export const OutboxSchema = Tagged(
  'driver',
  [
    Strict({
      driver: Type.Literal('sqlite'),
      path: Text('database file, relative to the working directory', { default: './data/outbox.db' }),
      ...outboxCommon,
    }),
    Strict({
      driver: Type.Literal('postgres'),
      url: Text('postgres:// URL (secret if it holds a password)', { format: 'postgres-url' }),
      ...outboxCommon,
    }),
  ],
  { default: { driver: 'sqlite' } },
);

export const ROUTE_MODES = ['failover', 'mirror', 'balance'] as const;

export const RouteSchema = Strict({
  match: Text('topic glob: exact name, or * for any run of characters', { format: 'route-glob' }),
  backends: Type.Array(Text('backend name'), {
    minItems: 1,
    uniqueItems: true,
    description: 'backend names, in priority order',
  }),
  mode: StringEnum(ROUTE_MODES, { default: 'failover', description: 'failover | mirror | balance' }),
});

export const RoutesSchema = Type.Array(RouteSchema, { minItems: 1, description: 'first match wins' });

export const FailoverSchema = Strict(
  {
    failureThreshold: PositiveInt(3, 'consecutive failures that open a backend circuit'),
    probeInterval: Duration('500ms', 'how often an open backend is probed'),
    openFor: Duration('2s', 'least time a circuit stays open before a probe may close it'),
    failbackAfter: Duration('10s', 'healthy spell before traffic fails back to a higher-priority backend'),
  },
  { default: {} },
);

export const AUTH_MODES = ['none', 'apiKey', 'jwt'] as const;

export { AuthSchema, RateLimitSchema };

export const LimitsSchema = Strict(
  {
    batchMaxCount: PositiveInt(1000, 'most messages in one batch request'),
    batchMaxBytes: Size('4mb', 'largest batch request body'),
    idempotencyKeyMaxLength: PositiveInt(200, 'longest message id / Idempotency-Key, in characters'),
    headerMaxCount: PositiveInt(64, 'most user headers on a message'),
    headerValueMaxBytes: Size('4kb', 'largest user header value'),
  },
  { default: {} },
);

export const RelaySchema = Strict(
  {
    batchSize: PositiveInt(256, 'messages claimed from the outbox at once'),
    maxAttempts: PositiveInt(20, 'delivery attempts before a message is dead-lettered'),
    backoffInitial: Duration('200ms', 'first retry delay (exponential, with jitter)'),
    backoffMax: Duration('30s', 'longest retry delay'),
    lease: Duration('30s', 'how long a claim holds before another relay may take the messages'),
    publishTimeout: Duration('10s', 'how long a broker ack may take before the attempt counts as failed'),
    pollInterval: Duration('50ms', 'idle wait between outbox polls'),
  },
  { default: {} },
);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const LogSchema = Strict(
  { level: StringEnum(LOG_LEVELS, { default: 'info', description: 'pino log level' }) },
  { default: {} },
);

export const ConfigFileSchema = Type.Object(
  {
    server: Type.Optional(ServerSchema),
    outbox: Type.Optional(OutboxSchema),
    backends: BackendsSchema,
    routes: RoutesSchema,
    failover: Type.Optional(FailoverSchema),
    auth: Type.Optional(AuthSchema),
    rateLimit: Type.Optional(RateLimitSchema),
    limits: Type.Optional(LimitsSchema),
    relay: Type.Optional(RelaySchema),
    log: Type.Optional(LogSchema),
    subscriptions: Type.Optional(SubscriptionsSchema),
  },
  { additionalProperties: false },
);

/** The config file's shape once defaults are filled in and validation passed (units still as written). */
export type ConfigFile = Required<Static<typeof ConfigFileSchema>>;
