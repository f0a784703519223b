import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_MEDIA_TYPE, ProblemError, problemBody, type ProblemCode } from './problem.js';

/** Maps fastify's own request errors to our catalogue, so clients see one error format. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-request',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported-media-type',
};

export function sendProblem(
  reply: FastifyReply,
  code: ProblemCode,
  detail?: string,
  extensions: Record<string, unknown> = {},
): FastifyReply {
  const body = problemBody(code, detail, { instance: reply.request.url.split('?')[0], ...extensions });
  return reply.code(body.status).type(PROBLEM_MEDIA_TYPE).send(body);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ProblemError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ProblemError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, error.code, error.detail, error.extensions);
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const errors = fe.validation.map((v) => ({
        location: fe.validationContext ?? 'body',
        pointer: v.instancePath || '/',
        message: v.message ?? 'invalid',
        ...(v.params && Object.keys(v.params).length ? { params: v.params } : {}),
      }));
      return sendProblem(reply, 'validation-failed', `${errors.length} problem(s) in the ${fe.validationContext ?? 'request'}`, { errors });
    }
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return sendProblem(reply, mapped, fe.message);
    if (fe.statusCode === 413) return sendProblem(reply, 'body-too-large');
    if (fe.statusCode === 429) return sendProblem(reply, 'rate-limited');
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Other client errors raised by fastify or its plugins; their messages do not carry data.
      return sendProblem(reply, 'bad-request', fe.message);
    }
    // A 5xx hides its cause from the client; the log keeps the stack, never the request body.
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'internal-error');
  });

  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'route-not-found', `${request.method} ${request.url.split('?')[0]}`));
}
