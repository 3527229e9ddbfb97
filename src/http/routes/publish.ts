import type { FastifyInstance, FastifyReply } from 'fastify';
import { isValidTopic } from '../../envelope.js';
import { MqgateError } from '../../errors.js';
import type { AppendResult, NewMessage } from '../../ports/outbox.js';
import type { WaitResult } from '../../relay/waiters.js';
import '../accepted.js';
import type { AppContext } from '../context.js';
import { checkTraceparent } from '../message-fields.js';
import {
  isJsonType,
  mediaType,
  messageFromJson,
  parseJsonBody,
  parsePublishRequest,
} from '../parse-message.js';
import { newTraceparent, withTraceparent } from '../trace-context.js';
import { parseWait } from '../wait-query.js';

interface TopicParams {
  topic: string;
}

const acceptedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    seq: { type: 'integer' },
    status: { type: 'string' },
    duplicate: { type: 'boolean' },
    backend: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'string' },
  },
} as const;

const publishSchema = {
  tags: ['publish'],
  summary: 'Publish one message',
  description:
    'JSON `{ id?, key?, type?, headers?, data | data_base64 }`, CloudEvents structured or binary, or raw bytes ' +
    'with `Idempotency-Key` and `Message-Key`. Answers once the message is fsync’d in the outbox.',
  params: { type: 'object', properties: { topic: { type: 'string' } }, required: ['topic'] },
  querystring: {
    type: 'object',
    properties: { wait: { type: 'string', enum: ['delivered'] }, timeout: { type: 'string' } },
    additionalProperties: false,
  },
  response: { 200: acceptedSchema, 201: acceptedSchema, 202: acceptedSchema },
} as const;

function checkTopic(ctx: AppContext, topic: string): void {
  if (!isValidTopic(topic)) {
    throw new MqgateError(
      'MQGATE_ERR_INVALID_TOPIC',
      'topic names are 1-249 characters of [A-Za-z0-9._-] and do not start with a dot',
      { context: { topic: topic.slice(0, 300) } },
    );
  }
  if (ctx.router.resolve(topic) === undefined) {
    throw new MqgateError('MQGATE_ERR_NO_ROUTE', `no route matches topic ${topic}`, { context: { topic } });
  }
}

function deliveredBody(id: string, result: Extract<WaitResult, { state: 'delivered' }>) {
  return { id, status: 'delivered', backend: result.backend, ...result.receipt };
}

async function answer(
  ctx: AppContext,
  reply: FastifyReply,
  result: AppendResult,
  wait: { timeoutMs: number } | undefined,
): Promise<unknown> {
  ctx.relay.wake();
  reply.header('location', `/v1/messages/${encodeURIComponent(result.id)}`);
  if (wait !== undefined) {
    const outcome = await ctx.relay.waitFor(result.id, wait.timeoutMs);
    if (outcome?.state === 'delivered') return reply.code(201).send(deliveredBody(result.id, outcome));
  }
  if (result.duplicate) return reply.code(200).send({ id: result.id, seq: result.seq, duplicate: true });
  return reply.code(202).send({ id: result.id, seq: result.seq, status: 'accepted' });
}

/**
 * `POST /v1/topics/{topic}/messages` and `:batch`. Bodies are read as bytes in this plugin only (an
 * encapsulated content-type parser), so any media type can be published as raw data.
 */
export async function publishRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async () => {
    if (ctx.draining()) {
      throw new MqgateError('MQGATE_ERR_DRAINING', 'the gateway is shutting down', { retryAfterSec: 1 });
    }
  });

  app.post<{ Params: TopicParams }>(
    '/v1/topics/:topic/messages',
    { schema: publishSchema, bodyLimit: ctx.limits.bodyLimitBytes },
    async (request, reply) => {
      const { topic } = request.params;
      checkTopic(ctx, topic);
      const wait = parseWait(request.query as Record<string, string | undefined>);
      const message = withTraceparent(
        parsePublishRequest(
          {
            topic,
            contentType: request.headers['content-type'],
            headers: request.headers,
            body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
            nowMs: Date.now(),
          },
          ctx.limits,
        ),
      );
      const [result] = await ctx.outbox.append([message]);
      request.accepted = {
        topic,
        accepted: result!.duplicate ? 0 : 1,
        duplicates: result!.duplicate ? 1 : 0,
      };
      return answer(ctx, reply, result!, wait);
    },
  );

  app.post<{ Params: TopicParams }>(
    '/v1/topics/:topic/messages::batch',
    {
      schema: { tags: ['publish'], summary: 'Publish a batch, all or nothing', params: publishSchema.params },
      bodyLimit: ctx.limits.batchMaxBytes,
    },
    async (request, reply) => {
      const { topic } = request.params;
      checkTopic(ctx, topic);
      const type = request.headers['content-type'];
      if (!isJsonType(type ?? '') || mediaType(type) === 'application/cloudevents+json') {
        throw new MqgateError('MQGATE_ERR_MEDIA_TYPE', 'a batch is application/json: { "messages": [...] }');
      }
      const body = parseJsonBody((request.body as Buffer | undefined) ?? Buffer.alloc(0));
      const items = (body as { messages?: unknown } | null)?.messages;
      if (!Array.isArray(items) || items.length === 0) {
        throw new MqgateError(
          'MQGATE_ERR_INVALID_BODY',
          'body must be { "messages": [ ...one or more... ] }',
        );
      }
      if (items.length > ctx.limits.batchMaxCount) {
        throw new MqgateError(
          'MQGATE_ERR_BATCH_TOO_LARGE',
          `a batch holds at most ${ctx.limits.batchMaxCount} messages, got ${items.length}`,
        );
      }
      const now = Date.now();
      const trace = checkTraceparent(request.headers.traceparent) ?? newTraceparent();
      const messages: NewMessage[] = [];
      const errors: { index: number; code: string; detail: string }[] = [];
      items.forEach((item, index) => {
        try {
          messages.push(withTraceparent(messageFromJson(item, topic, ctx.limits, now), trace));
        } catch (err) {
          if (!(err instanceof MqgateError)) throw err;
          errors.push({ index, code: err.code, detail: err.message });
        }
      });
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new MqgateError(
          first.code as MqgateError['code'],
          `messages[${first.index}]: ${first.detail}`,
          {
            context: { errors },
          },
        );
      }
      const results = await ctx.outbox.append(messages);
      const duplicates = results.filter((r) => r.duplicate).length;
      request.accepted = { topic, accepted: results.length - duplicates, duplicates };
      ctx.relay.wake();
      return reply.code(202).send({
        results: results.map((r) =>
          r.duplicate
            ? { id: r.id, seq: r.seq, duplicate: true }
            : { id: r.id, seq: r.seq, status: 'accepted' },
        ),
      });
    },
  );
}
