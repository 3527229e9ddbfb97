import type { FastifyInstance } from 'fastify';
import { TOPIC_CHARS, TOPIC_PATTERN } from '../../envelope.js';
import type { PulledMessage, PullService } from '../../pull/pull-service.js';
import { parseData } from '../../sdk/message.js';
import type { AppContext } from '../context.js';

const NAME = '[A-Za-z0-9._-]{1,200}';

const params = {
  type: 'object',
  properties: {
    group: { type: 'string', pattern: `^${NAME}$` },
    topic: { type: 'string', pattern: TOPIC_PATTERN },
  },
  required: ['group', 'topic'],
} as const;

const claimBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    max: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    leaseMs: { type: 'integer', minimum: 100, maximum: 43_200_000, default: 30_000 },
    claimId: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]{1,64}$',
      description: 'repeat a claim with the same id to get back the messages it holds (a lost response)',
    },
  },
} as const;

const settleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['tokens'],
  properties: {
    tokens: { type: 'array', minItems: 1, maxItems: 1000, items: { type: 'string', minLength: 1 } },
    delayMs: { type: 'integer', minimum: 0, maximum: 43_200_000, default: 0, description: 'nack only' },
  },
} as const;

const settleReply = {
  type: 'object',
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          token: { type: 'string' },
          status: { type: 'string', enum: ['acked', 'released', 'lost'] },
        },
      },
    },
  },
} as const;

type Params = { group: string; topic: string };

/**
 * Pull with leases: `:claim` hands out messages held for `leaseMs`, `:ack` acknowledges them, `:nack`
 * makes them claimable again. Every route needs the `subscribe` right on the topic. See
 * docs/http-consumers.md for the guarantees.
 */
export async function pullRoutes(
  app: FastifyInstance,
  ctx: AppContext & { pull: PullService },
): Promise<void> {
  const base = `/v1/groups/:group/topics/:topic(${TOPIC_CHARS})`;
  app.post<{ Params: Params; Body: { max: number; leaseMs: number; claimId?: string } }>(
    `${base}::claim`,
    {
      schema: {
        tags: ['consume'],
        summary: 'Claim up to max messages for leaseMs; ack or nack them with their tokens',
        params,
        body: claimBody,
      },
    },
    async (request) => {
      const { group, topic } = request.params;
      const { claimId, messages } = await ctx.pull.claim({ group, topic, ...(request.body ?? {}) });
      return { claimId, leaseMs: request.body.leaseMs, messages: messages.map(view) };
    },
  );
  for (const mode of ['ack', 'nack'] as const) {
    app.post<{ Params: Params; Body: { tokens: string[]; delayMs: number } }>(
      `${base}::${mode}`,
      {
        schema: {
          tags: ['consume'],
          summary:
            mode === 'ack'
              ? 'Acknowledge claimed messages (idempotent)'
              : 'Give claimed messages back, claimable again after delayMs',
          params,
          body: settleBody,
          response: { 200: settleReply },
        },
      },
      async (request) => {
        const { group, topic } = request.params;
        const { tokens, delayMs } = request.body;
        const outcomes = await ctx.pull.settle(group, topic, tokens, mode, delayMs);
        return { results: tokens.map((token, i) => ({ token, status: outcomes[i] })) };
      },
    );
  }
}

/** A claimed message in CloudEvents JSON shape: `data` for JSON payloads, else `data_base64`. */
function view(m: PulledMessage) {
  const env = m.envelope;
  const data = parseData(env.data, env.datacontenttype);
  return {
    token: m.token,
    id: env.id,
    topic: env.topic,
    ...(env.key === undefined ? {} : { key: env.key }),
    seq: env.seq,
    type: env.type,
    source: env.source,
    ...(env.subject === undefined ? {} : { subject: env.subject }),
    time: env.time,
    datacontenttype: env.datacontenttype,
    headers: env.headers,
    ...(Buffer.isBuffer(data) ? { data_base64: data.toString('base64') } : { data }),
    ...(env.traceparent === undefined ? {} : { traceparent: env.traceparent }),
    backend: m.backend,
    partition: m.partition,
    deliveries: m.deliveries,
  };
}
