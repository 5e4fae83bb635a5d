import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, httpError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error code of the 400 when this route's schema rejects a request (default invalid_query / invalid_body). */
    invalidCode?: string;
  }
}

/**
 * The one error handler of every app: a JSON error body for every failure, 4xx logged as warnings
 * (the client's problem), 5xx as errors with the stack (ours).
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = httpError(error, request.routeOptions.config.invalidCode);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ code: body.error.code, url: request.url }, error.message);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`)),
  );
}

/**
 * For `Fastify({ frameworkErrors })`: the router answers some requests before any route, hook or
 * error handler runs (a path parameter longer than maxParamLength, a URL that does not decode);
 * without this they get Fastify's own body instead of the coded JSON error.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = httpError(error);
  void reply.code(status).send(body);
}
