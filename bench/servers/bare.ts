/**
 * The baseline of the HTTP benchmark: a bare Fastify route that answers 202 and does nothing else, with the
 * same process settings as the gateway (one process, no request logging). Prints its URL on stdout.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
app.post('/v1/topics/:topic/messages', async (_req, reply) =>
  reply.code(202).send({ id: 'x', seq: 1, status: 'accepted' }),
);
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${url}\n`);
