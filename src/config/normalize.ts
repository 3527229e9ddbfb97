import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import type { ConfigFile } from './schema.js';
import type { BackendSchema } from './schema-backends.js';
import { subscriptionFrom } from './subscriptions.js';
import type { AuthConfig, BackendConfig, Config, HostPort, RedisConnection } from './types.js';
import { parseDuration, parseSize } from './units.js';

type FileBackend = Static<typeof BackendSchema>;

// Validation has already proved every value parses; these only narrow the types.
const ms = (value: string | number): number => parseDuration(value)!;
const bytes = (value: string | number): number => parseSize(value)!;

function hostPort(text: string): HostPort {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(at + 1)) };
}

function redisConnection(backend: {
  url?: string;
  sentinels?: string[];
  name?: string;
  password?: string;
}): RedisConnection {
  if (backend.url !== undefined) return { mode: 'url', url: backend.url };
  return {
    mode: 'sentinel',
    sentinels: (backend.sentinels ?? []).map(hostPort),
    masterName: backend.name!,
    ...(backend.password === undefined ? {} : { password: backend.password }),
  };
}

function backend(name: string, b: FileBackend): BackendConfig {
  switch (b.type) {
    case 'kafka':
      return {
        name,
        type: 'kafka',
        brokers: b.brokers,
        partitions: b.partitions,
        replicationFactor: b.replicationFactor,
        clientId: b.clientId ?? `mqgate-${name}`,
        ssl: b.ssl ?? false,
        ...(b.sasl === undefined ? {} : { sasl: b.sasl }),
      };
    case 'rabbitmq':
      return { name, ...b };
    case 'redis':
      return {
        name,
        type: 'redis',
        connection: redisConnection(b),
        partitions: b.partitions,
        ...(b.maxLen === undefined ? {} : { maxLen: b.maxLen }),
        waitReplicas: b.waitReplicas,
        waitTimeoutMs: ms(b.waitTimeout),
      };
    case 'bullmq':
      return {
        name,
        type: 'bullmq',
        connection: redisConnection(b),
        ...(b.prefix === undefined ? {} : { prefix: b.prefix }),
      };
  }
}

function auth(a: ConfigFile['auth']): AuthConfig {
  if (a.mode !== 'jwt') return a;
  const { clockTolerance, ...rest } = a;
  return { ...rest, clockToleranceMs: ms(clockTolerance) };
}

/**
 * The runtime config from a validated, defaults-filled file: units converted into `...Ms` / `...Bytes`
 * fields, the outbox path resolved against `cwd`, each backend given its name.
 */
export function normalize(file: ConfigFile, cwd: string, source: string | undefined): Config {
  const { server, outbox, failover, relay, limits } = file;
  return {
    server: {
      host: server.host,
      port: server.port,
      bodyLimitBytes: bytes(server.bodyLimit),
      shutdownDelayMs: server.shutdownDelay === undefined ? 0 : ms(server.shutdownDelay),
    },
    outbox: {
      ...(outbox.driver === 'sqlite'
        ? { driver: 'sqlite', path: resolve(cwd, outbox.path) }
        : { driver: 'postgres', url: outbox.url }),
      maxBytes: bytes(outbox.maxBytes),
      retentionMs: ms(outbox.retention),
    },
    backends: Object.fromEntries(Object.entries(file.backends).map(([name, b]) => [name, backend(name, b)])),
    routes: file.routes.map((route) => ({ match: route.match, backends: route.backends, mode: route.mode })),
    failover: {
      failureThreshold: failover.failureThreshold,
      probeIntervalMs: ms(failover.probeInterval),
      openForMs: ms(failover.openFor),
      failbackAfterMs: ms(failover.failbackAfter),
    },
    auth: auth(file.auth),
    rateLimit: { max: file.rateLimit.max, windowMs: ms(file.rateLimit.window) },
    limits: {
      batchMaxCount: limits.batchMaxCount,
      batchMaxBytes: bytes(limits.batchMaxBytes),
      idempotencyKeyMaxLength: limits.idempotencyKeyMaxLength,
      headerMaxCount: limits.headerMaxCount,
      headerValueMaxBytes: bytes(limits.headerValueMaxBytes),
    },
    relay: {
      batchSize: relay.batchSize,
      maxAttempts: relay.maxAttempts,
      backoffInitialMs: ms(relay.backoffInitial),
      backoffMaxMs: ms(relay.backoffMax),
      leaseMs: ms(relay.lease),
      publishTimeoutMs: ms(relay.publishTimeout),
      pollIntervalMs: ms(relay.pollInterval),
    },
    log: { level: file.log.level },
    subscriptions: file.subscriptions.map(subscriptionFrom),
    ...(source === undefined ? {} : { source }),
  };
}

/** Freezes `value` and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
