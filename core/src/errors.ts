import type { z } from 'zod';

/** The JSON error body every role answers with: { error: { code, message, details } }. */
export interface ErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[] };
}

export function errorBody(
  code: string,
  message: string,
  details: ErrorBody['error']['details'] = [],
): ErrorBody {
  return { error: { code, message, details } };
}

/** One line a developer can act on: "url: must be an absolute http(s) URL; name: …". */
export function zodDetails(error: z.ZodError): ErrorBody['error']['details'] {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
}

export function invalidEvent(error: z.ZodError): ErrorBody {
  const details = zodDetails(error);
  return errorBody(
    'invalid_event',
    `invalid event: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    details,
  );
}

interface FrameworkError {
  statusCode?: number;
  code?: string;
  message: string;
  /** Set by fastify when a route's schema rejected the request: one item per problem. */
  validation?: { instancePath?: string; message?: string }[];
  validationContext?: string;
}

/**
 * The 400 body for a request a route's schema rejected: each field and rule named, in the message
 * and in the details. `code` is the route's own (e.g. `invalid_site`); by default `invalid_body`
 * for the body and `invalid_query` for the path and query string.
 */
export function validationErrorBody(error: FrameworkError, code?: string): ErrorBody {
  const details = (error.validation ?? []).map((v) => ({
    path:
      (v.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') ||
      `(${error.validationContext ?? 'body'})`,
    message: v.message ?? 'invalid',
  }));
  const fallback = error.validationContext === 'body' ? 'invalid_body' : 'invalid_query';
  return errorBody(code ?? fallback, details.map((d) => `${d.path}: ${d.message}`).join('; '), details);
}

/**
 * Maps an error that reached a route's error handler to a status and body. Framework errors with a
 * 4xx status (malformed JSON, body too large, wrong content type) keep their status and get a
 * readable code; anything else is a 500 whose details stay in the log, not in the answer.
 */
export function httpError(error: FrameworkError, invalidCode?: string): { status: number; body: ErrorBody } {
  const status = error.statusCode ?? 500;
  if (status === 400 && error.validation) return { status, body: validationErrorBody(error, invalidCode) };
  if (status >= 400 && status < 500) {
    const code = frameworkCodes[error.code ?? ''] ?? 'bad_request';
    return { status, body: errorBody(code, error.message) };
  }
  return { status: 500, body: errorBody('internal', 'internal error; the server log has the details') };
}

const frameworkCodes: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_url',
  FST_ERR_MAX_PARAM_LENGTH: 'path_parameter_too_long',
};
