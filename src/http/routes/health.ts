import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/**
 * Liveness and readiness. `/healthz` (alias `/livez`) answers while the process runs. `/readyz` answers 200
 * while the outbox accepts writes, whatever the brokers do (the outbox absorbs their outages), and 503 while
 * draining; the body carries the outbox stats and each backend's state (`?verbose`: connection, last error).
 */
export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const live = async () => ({ status: 'ok' });
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, live);
  app.get('/livez', { schema: { tags: ['ops'], summary: 'Liveness (alias)' } }, live);
  app.get<{ Querystring: { verbose?: string } }>(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: 200 while the outbox accepts writes, 503 while draining or without an outbox',
        description:
          "`?verbose` adds each backend's connection, last error and the time of its last state change.",
        querystring: { type: 'object', properties: { verbose: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const verbose = request.query.verbose !== undefined && request.query.verbose !== 'false';
      const backends = ctx.health.view().map((b) =>
        verbose
          ? {
              name: b.name,
              type: b.type,
              state: b.state,
              connected: b.connected,
              since: new Date(b.since).toISOString(),
              ...(b.lastError ? { lastError: { code: b.lastError.code, message: b.lastError.message } } : {}),
            }
          : { name: b.name, type: b.type, state: b.state },
      );
      if (ctx.draining()) return reply.code(503).send({ status: 'draining', backends });
      try {
        const outbox = await ctx.outbox.stats();
        return { status: 'ready', outbox, backends };
      } catch {
        return reply.code(503).send({ status: 'outbox-unavailable', backends });
      }
    },
  );
}
