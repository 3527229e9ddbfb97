import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type SubscriptionFile, SubscriptionSchema } from '../../config/schema-subscriptions.js';
import { subscriptionFrom } from '../../config/subscriptions.js';
import { MqgateError } from '../../errors.js';
import type { PushSubscriptions, SubscriptionView } from '../../push/push-subscriptions.js';
import type { AppContext } from '../context.js';
import { authorize } from '../plugins/auth.js';

const nameParams = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,200}$' } },
  required: ['name'],
} as const;

/**
 * The config schema in the form Fastify's strict ajv takes: no `x-unit` annotations, and a duration's
 * `type: [string, integer]` as an `anyOf`.
 */
const bodySchema: unknown = JSON.parse(
  JSON.stringify(SubscriptionSchema, (key, value: unknown) => {
    if (key.startsWith('x-')) return undefined;
    const node = value as { type?: unknown } | null;
    if (node && typeof node === 'object' && Array.isArray(node.type)) {
      const { type, ...rest } = node as { type: string[] };
      return { ...rest, anyOf: type.map((t) => ({ type: t })) };
    }
    return value;
  }),
);

/** The caller must hold `subscribe` on every topic of the subscription. */
function authorizeAll(request: FastifyRequest, topics: readonly string[]): void {
  for (const topic of topics) authorize(request, 'subscribe', topic);
}

function visible(request: FastifyRequest, s: SubscriptionView): boolean {
  return s.topics.every((t) => request.principal.can('subscribe', t));
}

/**
 * Push subscriptions over HTTP: `POST /v1/subscriptions` creates one (persisted, restarted with the
 * gateway; the same definition again is 200, not a second subscription), `GET` lists them, `DELETE` removes
 * an API-created one. Each needs the `subscribe` right on every topic of the subscription.
 */
export async function subscriptionRoutes(
  app: FastifyInstance,
  ctx: AppContext & { subscriptions: PushSubscriptions },
): Promise<void> {
  const subs = ctx.subscriptions;
  app.post<{ Body: SubscriptionFile }>(
    '/v1/subscriptions',
    {
      schema: {
        tags: ['consume'],
        summary: 'Create a push subscription: each message POSTed to endpoint as a binary-mode CloudEvent',
        body: bodySchema,
      },
    },
    async (request, reply) => {
      authorizeAll(request, request.body.topics);
      const { created, view } = await subs.create(subscriptionFrom(request.body));
      reply
        .code(created ? 201 : 200)
        .header('location', `/v1/subscriptions/${encodeURIComponent(view.name)}`);
      return view;
    },
  );
  app.get(
    '/v1/subscriptions',
    { schema: { tags: ['consume'], summary: 'List push subscriptions' } },
    async (request) => ({
      subscriptions: subs.list().filter((s) => visible(request, s)),
    }),
  );
  app.get<{ Params: { name: string } }>(
    '/v1/subscriptions/:name',
    { schema: { tags: ['consume'], summary: 'One push subscription', params: nameParams } },
    async (request) => {
      const s = subs.get(request.params.name);
      if (!s) throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no subscription ${request.params.name}`);
      authorizeAll(request, s.topics);
      return s;
    },
  );
  app.delete<{ Params: { name: string } }>(
    '/v1/subscriptions/:name',
    {
      schema: {
        tags: ['consume'],
        summary: 'Delete a push subscription created over HTTP (config ones are read-only)',
        params: nameParams,
      },
    },
    async (request, reply) => {
      const s = subs.get(request.params.name);
      if (!s) throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no subscription ${request.params.name}`);
      authorizeAll(request, s.topics);
      await subs.delete(s.name);
      return reply.code(204).send();
    },
  );
}
