/**
 * The validated, normalized configuration that `loadConfig()` returns, deep-frozen. Units are in the names
 * (`...Ms` milliseconds, `...Bytes` bytes); relative paths are resolved. docs/config.md maps each field to
 * its key in the file.
 */

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Largest request body of a single-message publish (batch requests use `limits.batchMaxBytes`). */
  readonly bodyLimitBytes: number;
  /** On SIGTERM/SIGINT, how long readiness fails (and publishes get 503) before the listener closes. */
  readonly shutdownDelayMs: number;
}

interface OutboxCommon {
  /** Budget of undelivered message bytes; past it publishes are refused with 503. */
  readonly maxBytes: number;
  /** How long delivered messages and their idempotency keys are kept. */
  readonly retentionMs: number;
}

export interface SqliteOutboxConfig extends OutboxCommon {
  readonly driver: 'sqlite';
  /** Absolute path of the database file. */
  readonly path: string;
}

export interface PostgresOutboxConfig extends OutboxCommon {
  readonly driver: 'postgres';
  /** postgres:// URL; may hold a password, so log it only through `redactConfig`. */
  readonly url: string;
}

export type OutboxConfig = SqliteOutboxConfig | PostgresOutboxConfig;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface KafkaBackendConfig {
  readonly name: string;
  readonly type: 'kafka';
  /** Bootstrap brokers as `host:port`. */
  readonly brokers: readonly string[];
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
}

export interface RabbitmqBackendConfig {
  readonly name: string;
  readonly type: 'rabbitmq';
  /** amqp(s) URLs of the cluster nodes, tried in order. */
  readonly urls: readonly string[];
  readonly partitions: number;
  readonly queueType: 'quorum' | 'classic';
  readonly exchange: string;
}

/** How to reach Redis: one server by URL, or a master through Sentinel (file keys `sentinels` + `name`). */
export type RedisConnection =
  | { readonly mode: 'url'; readonly url: string }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly HostPort[];
      /** The Sentinel master name (`name` in the file). */
      readonly masterName: string;
      readonly password?: string;
    };

export interface RedisBackendConfig {
  readonly name: string;
  readonly type: 'redis';
  readonly connection: RedisConnection;
  readonly partitions: number;
  /** Approximate stream length to trim to; unset keeps everything. */
  readonly maxLen?: number;
  /**
   * Replicas that must acknowledge each batch (`WAIT waitReplicas waitTimeoutMs` after the XADDs) before it
   * counts as published; fewer is a retriable failure. 0 or unset sends no WAIT. (Optional here so that
   * code building a config by hand need not name it; the loader always sets it.)
   */
  readonly waitReplicas?: number;
  /** Bound on that WAIT; unset means 1000. */
  readonly waitTimeoutMs?: number;
}

export interface BullmqBackendConfig {
  readonly name: string;
  readonly type: 'bullmq';
  readonly connection: RedisConnection;
  readonly prefix?: string;
}

/** A backend, told apart by `type`; `name` is its key under `backends`. */
export type BackendConfig =
  | KafkaBackendConfig
  | RabbitmqBackendConfig
  | RedisBackendConfig
  | BullmqBackendConfig;

export type BackendType = BackendConfig['type'];

export type RouteMode = 'failover' | 'mirror' | 'balance';

export interface RouteConfig {
  /** Exact topic name, or a glob where `*` matches any run of characters (dots included). */
  readonly match: string;
  /** Names of existing backends, in priority order. */
  readonly backends: readonly string[];
  readonly mode: RouteMode;
}

export interface FailoverConfig {
  readonly failureThreshold: number;
  readonly probeIntervalMs: number;
  readonly openForMs: number;
  readonly failbackAfterMs: number;
}

/** One ACL grant: topic globs per right, for the principals `principal` (a glob) names. */
export interface AclRule {
  readonly principal: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  readonly admin: readonly string[];
}

/** An API key as configured: its principal name and the hex SHA-256 of the key (never the key). */
export interface ApiKeyConfig {
  readonly name: string;
  readonly sha256: string;
}

export type AuthConfig =
  | { readonly mode: 'none' }
  | { readonly mode: 'apiKey'; readonly keys: readonly ApiKeyConfig[]; readonly acl: readonly AclRule[] }
  | {
      readonly mode: 'jwt';
      /** HS256 secret; exactly one of `secret` and `publicKey` is set. */
      readonly secret?: string;
      /** RS256 public key (PEM, SPKI). */
      readonly publicKey?: string;
      readonly issuer: string;
      readonly audience: string;
      readonly principalClaim: string;
      readonly clockToleranceMs: number;
      readonly acl: readonly AclRule[];
    };

/** Requests per window per credential; `max: 0` turns rate limiting off. */
export interface RateLimitConfig {
  readonly max: number;
  readonly windowMs: number;
}

export interface LimitsConfig {
  readonly batchMaxCount: number;
  readonly batchMaxBytes: number;
  readonly idempotencyKeyMaxLength: number;
  readonly headerMaxCount: number;
  readonly headerValueMaxBytes: number;
}

export interface RelayConfig {
  readonly batchSize: number;
  readonly maxAttempts: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly leaseMs: number;
  readonly publishTimeoutMs: number;
  readonly pollIntervalMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogConfig {
  readonly level: LogLevel;
}

/** A push subscription (`subscriptions[i]`, or created with `POST /v1/subscriptions`). */
export interface SubscriptionConfig {
  readonly name: string;
  /** Consumer group; gateway replicas with the same group share the messages. Defaults to `name`. */
  readonly group: string;
  readonly topics: readonly string[];
  /** http(s) URL each message is POSTed to. */
  readonly endpoint: string;
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly timeoutMs: number;
  readonly retry: { readonly maxAttempts: number; readonly initialMs: number; readonly maxMs: number };
  /** true: `<topic>.dlq`; a topic name; false: never dead-letter. */
  readonly deadLetter: boolean | string;
}

export interface Config {
  readonly server: ServerConfig;
  readonly outbox: OutboxConfig;
  /** Backends by name, in file order. */
  readonly backends: Readonly<Record<string, BackendConfig>>;
  /** Routes in file order; the first whose `match` fits a topic wins. */
  readonly routes: readonly RouteConfig[];
  readonly failover: FailoverConfig;
  readonly auth: AuthConfig;
  readonly rateLimit: RateLimitConfig;
  readonly limits: LimitsConfig;
  readonly relay: RelayConfig;
  readonly log: LogConfig;
  /** Push subscriptions from the file; `[]` when none. */
  readonly subscriptions: readonly SubscriptionConfig[];
  /** The file the config came from (absolute), or `undefined` when given as an object. */
  readonly source?: string;
}
