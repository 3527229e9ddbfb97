import type { FastifyInstance } from 'fastify';
import { MqgateError } from '../../errors.js';
import type { AppContext } from '../context.js';
import { authorize } from '../plugins/auth.js';

/** `GET /v1/messages/{id}`: where a message is now. */
export async function messageRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id',
    {
      schema: {
        tags: ['messages'],
        summary: 'Status of one message: accepted, delivering, delivered or dead',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      },
    },
    async (request) => {
      const status = await ctx.outbox.get(request.params.id);
      if (status === undefined) {
        throw new MqgateError(
          'MQGATE_ERR_NOT_FOUND',
          `no message with id ${request.params.id} (or it was pruned)`,
        );
      }
      // The status names the topic, backend and offsets: only for who may publish to or administer the topic.
      if (!request.principal.can('publish', status.topic)) authorize(request, 'admin', status.topic);
      const { state, ...rest } = status;
      return { status: state, ...rest };
    },
  );
}
