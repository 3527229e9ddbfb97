import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/**
 * Liveness and readiness. `/healthz` (alias `/livez`) answers while the process runs. `/readyz` answers 200
 * while the outbox accepts writes, whatever the brokers do (the outbox absorbs their outages), and 503 while
 * draining; the body carries each backend's state.
 */
export async function healthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const live = async () => ({ status: 'ok' });
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, live);
  app.get('/livez', { schema: { tags: ['ops'], summary: 'Liveness (alias)' } }, live);
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness' } }, async (_request, reply) => {
    const backends = ctx.health.view().map((b) => ({ name: b.name, type: b.type, state: b.state }));
    if (ctx.draining()) return reply.code(503).send({ status: 'draining', backends });
    try {
      const outbox = await ctx.outbox.stats();
      return { status: 'ready', outbox, backends };
    } catch {
      return reply.code(503).send({ status: 'outbox-unavailable', backends });
    }
  });
}
