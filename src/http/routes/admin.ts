import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** Read-only admin views: backends with their breaker state, routes, and the outbox's depth. */
export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get(
    '/v1/backends',
    { schema: { tags: ['admin'], summary: 'Backends and their health' } },
    async () => ({
      backends: ctx.health.view().map((b) => ({
        name: b.name,
        type: b.type,
        state: b.state,
        connected: b.connected,
        since: new Date(b.since).toISOString(),
        consecutiveFailures: b.consecutiveFailures,
        ...(b.lastError ? { lastError: { ...b.lastError, at: new Date(b.lastError.at).toISOString() } } : {}),
      })),
    }),
  );
  app.get('/v1/routes', { schema: { tags: ['admin'], summary: 'Routes in match order' } }, async () => ({
    routes: ctx.router.routes.map((r) => ({
      match: r.match,
      mode: r.mode,
      backends: r.backends,
      active: ctx.relay.activeBackend(r) ?? null,
    })),
    switches: ctx.relay.switches.map((s) => ({ ...s, at: new Date(s.at).toISOString() })),
  }));
  app.get(
    '/v1/outbox',
    { schema: { tags: ['admin'], summary: 'Outbox depth, bytes and oldest age' } },
    async () => ctx.outbox.stats(),
  );
}
