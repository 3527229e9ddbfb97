import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isValidTopic } from '../../envelope.js';
import { MqgateError } from '../../errors.js';
import type { MessageStatus } from '../../ports/outbox.js';
import { isOutboxAdmin, type OutboxAdmin } from '../../ports/outbox-admin.js';
import type { AppContext } from '../context.js';
import { authorize } from '../plugins/auth.js';

const errorSchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
} as const;

const deadSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    topic: { type: 'string' },
    key: { type: 'string' },
    seq: { type: 'integer' },
    attempts: { type: 'integer' },
    acceptedAt: { type: 'string' },
    backend: { type: 'string' },
    error: errorSchema,
  },
} as const;

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1 } },
  required: ['id'],
} as const;

/** Throws NOT_FOUND unless `id` is dead, and FORBIDDEN unless the caller administers its topic. */
async function deadMessage(ctx: AppContext, request: FastifyRequest, id: string): Promise<MessageStatus> {
  const status = await ctx.outbox.get(id);
  if (status?.state !== 'dead') {
    throw new MqgateError('MQGATE_ERR_NOT_FOUND', `no dead message '${id}'`, { context: { id } });
  }
  authorize(request, 'admin', status.topic);
  return status;
}

/** Throws INVALID_TOPIC or NO_ROUTE unless `topic` can take messages, FORBIDDEN without admin on it. */
function replayTarget(ctx: AppContext, request: FastifyRequest, topic: string): void {
  if (!isValidTopic(topic)) {
    throw new MqgateError('MQGATE_ERR_INVALID_TOPIC', `invalid topic '${topic.slice(0, 300)}'`);
  }
  if (ctx.router.resolve(topic) === undefined) {
    throw new MqgateError('MQGATE_ERR_NO_ROUTE', `no route matches topic ${topic}`, { context: { topic } });
  }
  authorize(request, 'admin', topic);
}

/**
 * Replays one dead message (already checked): back in the queue under its id and seq, or, to another topic,
 * as a new message there (the dead one deleted in the same transaction).
 */
async function replayOne(admin: OutboxAdmin, dead: MessageStatus, to: string | undefined) {
  if (to === undefined || to === dead.topic) {
    await admin.requeueDead(dead.id);
    return { id: dead.id, status: 'accepted', topic: dead.topic, seq: dead.seq };
  }
  const { id, seq } = await admin.replayDeadTo(dead.id, to);
  return { id, status: 'accepted', topic: to, seq, replayedFrom: dead.id };
}

const replayedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string' },
    topic: { type: 'string' },
    seq: { type: 'integer' },
    replayedFrom: { type: 'string' },
  },
} as const;

const targetTopic = { type: 'string', minLength: 1, maxLength: 300 } as const;

/** Lets a POST without a body through the body schema (all its fields are optional). */
async function emptyBody(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

function view(m: MessageStatus) {
  return {
    id: m.id,
    topic: m.topic,
    ...(m.key === undefined ? {} : { key: m.key }),
    seq: m.seq,
    attempts: m.attempts,
    acceptedAt: m.acceptedAt,
    ...(m.backend === undefined ? {} : { backend: m.backend }),
    ...(m.error === undefined ? {} : { error: m.error }),
  };
}

/**
 * The dead-letter store: list (paged by id, filtered by topic), replay one or many (requeued under the same
 * id and seq, to the topic's own route; or to another topic as new messages), delete. Each message needs the admin right on its topic; a listing
 * or bulk replay without a topic needs admin on `*`.
 */
export async function dlqRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  if (!isOutboxAdmin(ctx.outbox)) return;
  const admin: OutboxAdmin = ctx.outbox;

  app.get<{ Querystring: { topic?: string; limit: number; after?: string } }>(
    '/v1/dlq',
    {
      schema: {
        tags: ['admin'],
        summary: 'Dead messages with their errors, by id; pass `next` as `after` for the next page',
        querystring: {
          type: 'object',
          properties: {
            topic: { type: 'string', minLength: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            after: { type: 'string' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              messages: { type: 'array', items: deadSchema },
              next: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request) => {
      const { topic, limit, after } = request.query;
      authorize(request, 'admin', topic);
      const page = await admin.listDead({
        limit,
        ...(topic === undefined ? {} : { topic }),
        ...(after === undefined ? {} : { after }),
      });
      return { messages: page.map(view), next: page.length === limit ? page[page.length - 1]!.id : null };
    },
  );

  app.post<{ Params: { id: string }; Body: { topic?: string } | undefined }>(
    '/v1/dlq/:id/replay',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Replay one dead message: back in the queue under the same id and seq, or with `{ topic }` as a new ' +
          'message `<id>~replay~<topic>` on that topic (header `replayed-from`), the dead one deleted',
        params: idParams,
        body: { type: 'object', properties: { topic: targetTopic }, additionalProperties: false },
        response: { 202: replayedSchema },
      },
      preValidation: emptyBody,
    },
    async (request, reply) => {
      const to = request.body?.topic;
      const dead = await deadMessage(ctx, request, request.params.id);
      if (to !== undefined) replayTarget(ctx, request, to);
      const answer = await replayOne(admin, dead, to);
      ctx.relay.wake();
      return reply.code(202).send(answer);
    },
  );

  app.post<{ Body: { topic?: string; toTopic?: string; limit: number } | undefined }>(
    '/v1/dlq::replay',
    {
      schema: {
        tags: ['admin'],
        summary:
          'Replay the dead messages of a topic (or all), oldest id first, up to `limit`; with `toTopic`, each ' +
          'as a new message on that topic (as the single replay with `{ topic }`)',
        body: {
          type: 'object',
          properties: {
            topic: { type: 'string', minLength: 1 },
            toTopic: targetTopic,
            limit: { type: 'integer', minimum: 1, maximum: 100_000, default: 1000 },
          },
          additionalProperties: false,
        },
        response: {
          202: {
            type: 'object',
            properties: { replayed: { type: 'integer' }, more: { type: 'boolean' } },
          },
        },
      },
      preValidation: emptyBody,
    },
    async (request, reply) => {
      const { topic, toTopic, limit = 1000 } = request.body ?? {};
      authorize(request, 'admin', topic);
      if (toTopic !== undefined) replayTarget(ctx, request, toTopic);
      const filter = topic === undefined ? {} : { topic };
      let replayed = 0;
      let after: string | undefined;
      // Replayed rows leave the dead state; the cursor also steps over any that a message failing at once
      // would put back, so one call never loops.
      while (replayed < limit) {
        const page = await admin.listDead({
          limit: Math.min(500, limit - replayed),
          ...filter,
          ...(after === undefined ? {} : { after }),
        });
        if (page.length === 0) break;
        await Promise.all(page.map((m) => replayOne(admin, m, toTopic)));
        replayed += page.length;
        after = page[page.length - 1]!.id;
        ctx.relay.wake();
      }
      const more = replayed === limit && (await admin.listDead({ limit: 1, ...filter })).length > 0;
      return reply.code(202).send({ replayed, more });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/dlq/:id',
    { schema: { tags: ['admin'], summary: 'Delete one dead message for good', params: idParams } },
    async (request, reply) => {
      await deadMessage(ctx, request, request.params.id);
      await admin.deleteDead(request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/outbox/topics',
    {
      schema: {
        tags: ['admin'],
        summary: 'Outbox depth, bytes, oldest age and dead count per topic',
        response: {
          200: {
            type: 'object',
            properties: {
              topics: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    topic: { type: 'string' },
                    depth: { type: 'integer' },
                    bytes: { type: 'integer' },
                    oldestAgeMs: { type: 'integer' },
                    dead: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const all = await admin.topicStats();
      return { topics: all.filter((t) => request.principal.can('admin', t.topic)) };
    },
  );
}
