import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { AppContext } from './context.js';
import { problemPlugin } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { messageRoutes } from './routes/messages.js';
import { publishRoutes } from './routes/publish.js';

export interface AppOptions {
  readonly logger?: Logger;
  readonly version?: string;
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
      tags: [{ name: 'publish' }, { name: 'messages' }, { name: 'admin' }, { name: 'ops' }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthRoutes, ctx);
  await app.register(adminRoutes, ctx);
  await app.register(messageRoutes, ctx);
  await app.register(publishRoutes, ctx);
  return app;
}
