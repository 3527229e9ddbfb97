/** mqgate's configuration: load, validate, normalize, redact. The only module that reads `process.env`. */
export { ConfigError } from './config-error.js';
export { ENV_VARS, type Env } from './env.js';
export { type LoadConfigOptions, loadConfig, type ParseConfigOptions, parseConfig } from './load.js';
export { isSecretPath, redactConfig, redactUrl } from './redact.js';
export { defaultConfigPath, packageRoot } from './root.js';
export type {
  AclRule,
  ApiKeyConfig,
  AuthConfig,
  BackendConfig,
  BackendType,
  BullmqBackendConfig,
  Config,
  FailoverConfig,
  HostPort,
  KafkaBackendConfig,
  LimitsConfig,
  LogConfig,
  LogLevel,
  OutboxConfig,
  PostgresOutboxConfig,
  RabbitmqBackendConfig,
  RateLimitConfig,
  RedisBackendConfig,
  RedisConnection,
  RelayConfig,
  RouteConfig,
  RouteMode,
  ServerConfig,
  SqliteOutboxConfig,
} from './types.js';
export { parseDuration, parseSize } from './units.js';
