import { errorBody, httpError } from './errors.js';
/**
 * The one error handler of every app: a JSON error body for every failure, 4xx logged as warnings
 * (the client's problem), 5xx as errors with the stack (ours).
 */
export function installErrorHandling(app) {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = httpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.warn({ code: body.error.code, url: request.url }, error.message);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`)),
  );
}
