import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { createAuthenticator } from '../auth/authenticator.js';
import type { AppContext } from './context.js';
import { authPlugin, withAccess } from './plugins/auth.js';
import { type MetricsOptions, metricsPlugin } from './plugins/metrics.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { problemPlugin } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { dlqRoutes } from './routes/dlq.js';
import { healthRoutes } from './routes/health.js';
import { messageRoutes } from './routes/messages.js';
import { publishRoutes } from './routes/publish.js';
import { pullRoutes } from './routes/pull.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { uiRoutes } from './routes/ui.js';

export interface AppOptions {
  readonly logger?: Logger;
  readonly version?: string;
  readonly metrics?: MetricsOptions;
}

/**
 * The gateway's HTTP face. Routes are encapsulated plugins; their JSON schemas feed both validation and the
 * OpenAPI document served at `/docs`.
 */
export async function buildApp(ctx: AppContext, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: ctx.limits.bodyLimitBytes,
    // Large batch bodies and slow clients: keep a bound on every request.
    requestTimeout: 60_000,
    return503OnClosing: true,
    // One log line per request would cost more than the publish itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Topic names may be 249 characters (Kafka's rule); find-my-way's default cap is 100.
    routerOptions: { maxParamLength: 512 },
  }) as unknown as FastifyInstance;
  await app.register(problemPlugin);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'mqgate',
        version: options.version ?? '0.0.0',
        description: 'Durable HTTP message gateway',
      },
      tags: [
        { name: 'publish' },
        { name: 'messages' },
        { name: 'admin' },
        { name: 'consume' },
        { name: 'ops' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Order matters: auth's onRequest hook runs before the rate limiter's (which keys on the principal), and
  // both must exist before the routes they cover are added.
  await app.register(authPlugin, { authenticator: await createAuthenticator(ctx.auth ?? { mode: 'none' }) });
  await app.register(rateLimitPlugin, { rateLimit: ctx.rateLimit ?? { max: 0, windowMs: 1_000 } });
  await app.register(metricsPlugin, { ctx, ...(options.metrics ? { metrics: options.metrics } : {}) });
  // Who may call what is decided here, per group of routes (see plugins/auth.ts).
  await app.register(withAccess('open', [healthRoutes], ctx));
  await app.register(withAccess('admin', [adminRoutes, dlqRoutes], ctx));
  await app.register(withAccess('authenticated', [messageRoutes], ctx));
  await app.register(withAccess('publish', [publishRoutes], ctx));
  // Consuming over HTTP: pull routes carry :topic (the hook checks subscribe on it); subscription routes
  // check subscribe on each topic of the subscription themselves.
  const { pull, subscriptions } = ctx;
  if (pull) await app.register(withAccess('subscribe', [pullRoutes], { ...ctx, pull }));
  if (subscriptions) {
    await app.register(withAccess('authenticated', [subscriptionRoutes], { ...ctx, subscriptions }));
  }
  // The dashboard's static shell is open; its data comes from the admin routes above (see routes/ui.ts).
  await app.register(uiRoutes);
  return app;
}
