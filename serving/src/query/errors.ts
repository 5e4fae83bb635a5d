import { type ErrorBody, errorBody, zodDetails } from '@sightline/core';
import type { z } from 'zod';

/**
 * An expected refusal of a query: a 400 for a question the rollups cannot answer or bad input, a
 * 503 when ClickHouse took too long. Routes turn it into the JSON error body.
 */
export class QueryError extends Error {
  override name = 'QueryError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorBody['error']['details'] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }
}

export function invalidQuery(path: string, message: string): QueryError {
  return new QueryError(400, 'invalid_query', `${path}: ${message}`, [{ path, message }]);
}

export function unsupportedQuery(path: string, message: string): QueryError {
  return new QueryError(400, 'unsupported_query', `${path}: ${message}`, [{ path, message }]);
}

export function fromZod(error: z.ZodError, prefix = ''): QueryError {
  const details = zodDetails(error).map((d) => ({ ...d, path: prefix + d.path }));
  return new QueryError(
    400,
    'invalid_query',
    details.map((d) => `${d.path}: ${d.message}`).join('; '),
    details,
  );
}
