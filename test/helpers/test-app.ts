import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { AuthConfig, RateLimitConfig } from '../../src/config/types.js';
import { HealthMonitor } from '../../src/failover/health.js';
import { buildApp } from '../../src/http/app.js';
import type { HttpLimits } from '../../src/http/context.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../src/http/message-fields.js';
import { SqliteOutbox } from '../../src/outbox/index.js';
import type { Backend } from '../../src/ports/backend.js';
import { Relay } from '../../src/relay/relay.js';
import { type RouteRule, Router } from '../../src/routing/router.js';

export interface TestApp {
  app: FastifyInstance;
  outbox: SqliteOutbox;
  relay: Relay;
  health: HealthMonitor;
  close(): Promise<void>;
}

export const TEST_LIMITS: HttpLimits = {
  ...DEFAULT_MESSAGE_LIMITS,
  bodyLimitBytes: 64 * 1024,
  batchMaxCount: 10,
  batchMaxBytes: 256 * 1024,
};

/**
 * The HTTP app over a real SQLite outbox in a temp dir. With no backends the relay never publishes, so
 * messages stay `accepted` and tests can inspect exactly what was stored.
 */
export async function testApp(
  options: {
    routes?: RouteRule[];
    maxBytes?: number;
    backends?: Map<string, Backend>;
    limits?: Partial<HttpLimits>;
    auth?: AuthConfig;
    rateLimit?: RateLimitConfig;
  } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-http-'));
  const outbox = new SqliteOutbox({
    path: join(dir, 'outbox.db'),
    maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
    retentionMs: 3_600_000,
  });
  await outbox.start();
  const backends = options.backends ?? new Map<string, Backend>();
  const logger = pino({ level: 'silent' });
  const health = new HealthMonitor(backends, { failureThreshold: 3, openForMs: 1_000, probeIntervalMs: 100 });
  const router = new Router(options.routes ?? [{ match: 'orders.*', backends: ['kafka'], mode: 'failover' }]);
  const relay = new Relay(outbox, router, backends, health, {
    batchSize: 64,
    maxAttempts: 5,
    backoffInitialMs: 10,
    backoffMaxMs: 100,
    leaseMs: 5_000,
    publishTimeoutMs: 2_000,
    pollIntervalMs: 10,
    failbackAfterMs: 1_000,
    owner: 'test',
    logger,
  });
  const app = await buildApp(
    {
      outbox,
      router,
      relay,
      health,
      draining: () => false,
      limits: { ...TEST_LIMITS, ...options.limits },
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    },
    { logger, metrics: { defaultMetrics: false } },
  );
  await app.ready();
  return {
    app,
    outbox,
    relay,
    health,
    async close() {
      await app.close();
      await relay.close({ timeoutMs: 1_000 });
      await health.close();
      await outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
