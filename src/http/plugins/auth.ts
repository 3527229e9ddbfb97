import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRouteHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { type Authenticator, presentedCredential } from '../../auth/authenticator.js';
import { Principal, type Right } from '../../auth/principal.js';
import { MqgateError } from '../../errors.js';

/**
 * What a route requires, set in its `config.access` (see {@link withAccess}):
 * - `open`: no credential (health, metrics, docs);
 * - `authenticated`: any valid credential; the handler checks the topic itself with {@link authorize};
 * - `publish` / `subscribe`: that right on the route's `:topic`;
 * - `admin`: some admin grant; handlers narrow it per topic with {@link authorize}.
 * A route without `access` is refused to every authenticated caller (deny by default).
 */
export type Access = 'open' | 'authenticated' | Right;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** Who is calling; anonymous (all rights) when auth is off. Set before any handler runs. */
    principal: Principal;
  }
}

const ANONYMOUS = Principal.anonymous();

/** An `onRoute` hook that marks every route of a scope with `access` (unless the route set its own). */
export function accessHook(access: Access): onRouteHookHandler {
  return (route) => {
    route.config = { ...(route.config ?? {}), access: route.config?.access ?? access };
  };
}

/**
 * A plugin that registers `plugins` in a scope whose routes all require `access`. Keeps the decision of who
 * may call what in one place (app.ts) instead of in each route file.
 */
// biome-ignore lint/suspicious/noExplicitAny: route plugins take the app context as their options
export function withAccess<O extends Record<string, any>>(
  access: Access,
  plugins: FastifyPluginAsync<O>[],
  opts: O,
) {
  return async (scope: FastifyInstance): Promise<void> => {
    scope.addHook('onRoute', accessHook(access));
    for (const plugin of plugins) await scope.register(plugin, opts);
  };
}

/** Throws 403 unless the caller holds `right` on `topic` (on every topic when `topic` is undefined). */
export function authorize(request: FastifyRequest, right: Right, topic?: string): void {
  if (request.principal.can(right, topic)) return;
  throw new MqgateError(
    'MQGATE_ERR_FORBIDDEN',
    topic === undefined
      ? `${request.principal.name} may not ${right} on every topic`
      : `${request.principal.name} may not ${right} on topic ${topic}`,
    { context: { ...(topic === undefined ? {} : { topic }), right } },
  );
}

/**
 * Authentication and per-route authorization in one `onRequest` hook, before the body is read: 401 without a
 * valid credential, 403 outside the ACL, both problem+json. With no authenticator (auth mode `none`) every
 * request is anonymous and allowed.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { authenticator: Authenticator | undefined }) => {
    app.decorateRequest('principal', {
      getter() {
        return (this as unknown as { _principal?: Principal })._principal ?? ANONYMOUS;
      },
      setter(value: Principal) {
        (this as unknown as { _principal?: Principal })._principal = value;
      },
    });
    const authenticate = opts.authenticator;
    if (authenticate === undefined) return;
    app.addHook('onRequest', async (request, reply) => {
      const access =
        request.routeOptions.config?.access ?? (request.url.startsWith('/docs') ? 'open' : undefined);
      if (access === 'open') return;
      try {
        request.principal = await authenticate(presentedCredential(request.headers));
      } catch (err) {
        reply.header('www-authenticate', 'Bearer realm="mqgate"');
        throw err;
      }
      // An unknown path is a 404 for an authenticated caller, like for anyone else.
      if (request.routeOptions.url === undefined) return;
      if (access === undefined) {
        throw new MqgateError(
          'MQGATE_ERR_FORBIDDEN',
          `no access rule covers ${request.method} ${request.routeOptions.url}`,
        );
      }
      if (access === 'authenticated') return;
      const topic = (request.params as { topic?: string } | undefined)?.topic;
      if (topic !== undefined) authorize(request, access, topic);
      else if (!request.principal.hasAny(access)) authorize(request, access);
    });
  },
  { name: 'mqgate-auth', fastify: '5.x', dependencies: ['mqgate-problem'] },
);
