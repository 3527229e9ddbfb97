import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { RateLimitConfig } from '../../config/types.js';
import { MqgateError } from '../../errors.js';

/**
 * Per-credential rate limits (@fastify/rate-limit, in memory): the key is the authenticated principal, or the
 * client address when auth is off. Routes marked `access: 'open'` (health, metrics) are never limited, so a
 * flood of publishes cannot make the gateway look dead to its orchestrator. Over the limit: 429
 * problem+json `MQGATE_ERR_RATE_LIMITED` with `Retry-After` (seconds).
 *
 * Registered after the auth plugin, so its `onRequest` hook runs once the principal is known; requests that
 * fail authentication are refused before they are counted.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, opts: { rateLimit: RateLimitConfig }) => {
    if (opts.rateLimit.max <= 0) return;
    await app.register(rateLimit, {
      global: true,
      max: opts.rateLimit.max,
      timeWindow: opts.rateLimit.windowMs,
      hook: 'onRequest',
      keyGenerator: (request: FastifyRequest) =>
        request.principal.kind === 'anonymous' ? `ip:${request.ip}` : `p:${request.principal.name}`,
      allowList: (request: FastifyRequest) =>
        request.routeOptions.config?.access === 'open' || request.url.startsWith('/docs'),
      errorResponseBuilder: (_request, context) =>
        new MqgateError(
          'MQGATE_ERR_RATE_LIMITED',
          `rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
          { retryAfterSec: Math.max(1, Math.ceil(context.ttl / 1000)) },
        ),
    });
  },
  { name: 'mqgate-rate-limit', fastify: '5.x', dependencies: ['mqgate-auth'] },
);
