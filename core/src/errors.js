export function errorBody(code, message, details = []) {
  return { error: { code, message, details } };
}
/** One line a developer can act on: "url: must be an absolute http(s) URL; name: …". */
export function zodDetails(error) {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
}
export function invalidEvent(error) {
  const details = zodDetails(error);
  return errorBody(
    'invalid_event',
    `invalid event: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
    details,
  );
}
/**
 * Maps an error that reached a route's error handler to a status and body. Framework errors with a
 * 4xx status (malformed JSON, body too large, wrong content type) keep their status and get a
 * readable code; anything else is a 500 whose details stay in the log, not in the answer.
 */
export function httpError(error) {
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = frameworkCodes[error.code ?? ''] ?? 'bad_request';
    return { status, body: errorBody(code, error.message) };
  }
  return { status: 500, body: errorBody('internal', 'internal error; the server log has the details') };
}
const frameworkCodes = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_VALIDATION: 'invalid_request',
};
