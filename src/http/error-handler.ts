import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { PROBLEM_MEDIA_TYPE, PROBLEMS, ProblemError, problemBody, type ProblemCode } from './problem.js';

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
  // A refusal that says when to come back says it in the header clients and proxies read, too.
  if (typeof extensions['retryAfterSeconds'] === 'number') reply.header('retry-after', String(extensions['retryAfterSeconds']));
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
    // PostgreSQL aborted this transaction to let a concurrent one through (a deadlock, or a
    // serialization failure): nothing was changed, and the same request again succeeds.
    if (fe.code === '40P01' || fe.code === '40001') {
      request.log.warn({ sqlState: fe.code }, 'transaction aborted by a concurrent one; the client is told to retry');
      return sendProblem(reply, 'service-unavailable', 'a concurrent change got in the way: nothing was changed; send the request again', {
        retryAfterSeconds: 1,
      });
    }
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return sendProblem(reply, mapped, fe.message);
    if (fe.statusCode === 413) return sendProblem(reply, 'body-too-large');
    if (fe.statusCode === 429) {
      // @fastify/rate-limit set Retry-After on the reply already; the body says it as well.
      const after = Number(reply.getHeader('retry-after'));
      return sendProblem(
        reply,
        'rate-limited',
        'too many requests from this address',
        Number.isFinite(after) ? { retryAfterSeconds: after } : {},
      );
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Other client errors raised by fastify or its plugins; their messages do not carry data.
      return sendProblem(reply, 'bad-request', fe.message);
    }
    // A 5xx hides its cause from the client; the log keeps the stack, never the request body.
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 'internal-error');
  });
}

/**
 * Errors fastify raises before routing (Fastify's `frameworkErrors`): a malformed percent-encoding
 * in the path, say. Answered in problem+json like every other refusal.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    void sendProblem(reply, 'bad-request', 'the URL is not valid (a malformed percent-encoding, say)');
    return;
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendProblem(reply, 'uri-too-long', 'a path segment is longer than 100 characters');
    return;
  }
  reply.log.error({ err: error }, 'framework error');
  void sendProblem(reply, 'internal-error');
}

/** Node's HTTP parser codes we answer, with the problem each is. Others: a plain 400. */
const CLIENT_ERRORS: Record<string, ProblemCode> = {
  HPE_HEADER_OVERFLOW: 'headers-too-large',
  HPE_URI_TOO_LONG: 'uri-too-long',
};

/**
 * Errors Node's HTTP parser raises before fastify sees a request (a 20 kB header, a garbled
 * request line): written to the socket as problem+json. A reset or timed-out socket gets nothing.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = (error.code && CLIENT_ERRORS[error.code]) || 'bad-request';
  const body = JSON.stringify(problemBody(code));
  socket.end(
    `HTTP/1.1 ${PROBLEMS[code].status} ${STATUS_CODES[PROBLEMS[code].status] ?? 'Bad Request'}\r\n` +
      `Content-Type: ${PROBLEM_MEDIA_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * 404 route-not-found for every path no route serves. With a per-address limit (the open
 * surfaces' hook), probing unknown paths counts against it like any other open request.
 */
export function registerNotFound(app: FastifyInstance, limit: onRequestHookHandler | null): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(reply, 'route-not-found', `${request.method} ${request.url.split('?')[0]}`);
  if (limit) app.setNotFoundHandler({ preHandler: limit as preHandlerHookHandler }, handler);
  else app.setNotFoundHandler(handler);
}
