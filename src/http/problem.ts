import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERRORS, type ErrorCode, MqgateError } from '../errors.js';

/** An RFC 9457 problem document with mqgate's stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: unknown[];
}

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Fastify's own error codes that reach users, mapped onto mqgate's. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'MQGATE_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MQGATE_ERR_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MQGATE_ERR_INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MQGATE_ERR_INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MQGATE_ERR_INVALID_BODY',
  FST_ERR_VALIDATION: 'MQGATE_ERR_INVALID_BODY',
  FST_ERR_NOT_FOUND: 'MQGATE_ERR_NOT_FOUND',
};

export function problemFor(err: MqgateError, instance?: string): Problem {
  const problem: Problem = {
    type: `https://mqgate.dev/errors#${err.code}`,
    title: ERRORS[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
  };
  if (instance !== undefined) problem.instance = instance;
  const details = err.context.errors;
  if (Array.isArray(details)) problem.errors = details;
  return problem;
}

/** Converts whatever a route threw into an MqgateError without losing its meaning. */
export function classify(err: FastifyError | Error): MqgateError {
  if (err instanceof MqgateError) return err;
  const fe = err as FastifyError & { validation?: unknown[]; validationContext?: string };
  const mapped = fe.code !== undefined ? FASTIFY_CODES[fe.code] : undefined;
  if (fe.validation !== undefined) {
    const code =
      fe.validationContext === 'querystring' ? 'MQGATE_ERR_INVALID_QUERY' : 'MQGATE_ERR_INVALID_BODY';
    return new MqgateError(code, err.message, { context: { errors: fe.validation } });
  }
  if (mapped !== undefined) return new MqgateError(mapped, err.message, { cause: err });
  // JSON parse failures surface as SyntaxError with statusCode 400.
  if (fe.statusCode === 400) return new MqgateError('MQGATE_ERR_INVALID_BODY', err.message, { cause: err });
  if (fe.statusCode === 413) return new MqgateError('MQGATE_ERR_BODY_TOO_LARGE', err.message, { cause: err });
  if (fe.statusCode === 415) return new MqgateError('MQGATE_ERR_MEDIA_TYPE', err.message, { cause: err });
  return new MqgateError('MQGATE_ERR_INTERNAL', 'internal error', { cause: err });
}

export function sendProblem(reply: FastifyReply, err: MqgateError, request?: FastifyRequest): FastifyReply {
  if (err.retryAfterSec !== undefined) reply.header('retry-after', String(err.retryAfterSec));
  return reply.code(err.status).type(PROBLEM_MEDIA_TYPE).send(problemFor(err, request?.url));
}

/** Every error and every 404 leaves as problem+json with a stable code. */
export const problemPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const err = classify(error);
      if (err.status >= 500 && err.code === 'MQGATE_ERR_INTERNAL')
        request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, err, request);
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        new MqgateError('MQGATE_ERR_NOT_FOUND', `no such resource: ${request.method} ${request.url}`),
      ),
    );
  },
  { name: 'mqgate-problem', fastify: '5.x' },
);
