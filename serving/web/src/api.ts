/** The query API as the dashboard uses it: GET with `Authorization: Bearer <key>`, JSON answers. */

export type FilterOperator = 'is' | 'is_not' | 'contains' | 'contains_not' | 'matches' | 'matches_not';
export type Filter = [FilterOperator, string, string[]];

export interface Site {
  site_id: string;
  domain: string;
  timezone: string;
}

export interface MetricValue {
  value: number;
  comparison_value?: number;
  change?: number | null;
}

export interface AggregateAnswer {
  authoritative_until: string | null;
  results: Record<string, MetricValue>;
  warnings?: string[];
}

export type Row = { time: string } & Record<string, number>;

export interface TimeseriesAnswer {
  interval: string;
  tz: string;
  from: string;
  to: string;
  authoritative_until: string | null;
  results: Row[];
  comparison?: { from: string; to: string; results: Row[] };
  warnings?: string[];
}

export interface BreakdownRow extends Record<string, number | string> {
  value: string;
}

export interface BreakdownAnswer {
  authoritative_until: string | null;
  has_more: boolean;
  results: BreakdownRow[];
}

export interface RealtimeAnswer {
  current_visitors: number;
  minutes: Row[];
}

/** A refusal or failure, with what the reader can do about it. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A refusal of the key itself (unknown, revoked, expired, a write key): back to the sign-in. */
export function signsOut(error: ApiError): boolean {
  return error.status === 401 || (error.status === 403 && error.code !== 'forbidden_site');
}

const advice: Record<string, string> = {
  unauthorized: 'Sign in with an API key.',
  invalid_key:
    'This key is unknown, revoked or expired: sign in with another (an admin makes one with POST /v1/admin/keys).',
  forbidden: 'This is a write key, which only sends events: sign in with a read key.',
  forbidden_site: 'This key does not read that site: pick another site.',
  rate_limited: 'Too many requests for this key: wait a moment, then retry.',
  unavailable: 'The service is busy: retry in a few seconds.',
};

export type Params = Record<string, string | undefined>;

export function queryString(params: Params): string {
  const defined = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return defined.length ? `?${new URLSearchParams(defined)}` : '';
}

export async function apiGet<T>(
  key: string,
  path: string,
  params: Params = {},
  signal?: AbortSignal,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${path}${queryString(params)}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
      signal: signal ?? null,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(
      0,
      'network',
      'The service did not answer: check that it is running and your connection, then retry.',
    );
  }
  if (response.ok) return (await response.json()) as T;
  let code = 'http_error';
  let message = `The service answered ${response.status}.`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): keep the status line.
  }
  const hint =
    advice[code] ?? (response.status >= 500 ? 'Retry in a moment; if it persists, see the service log.' : '');
  throw new ApiError(response.status, code, hint ? `${hint} (${message})` : message);
}

/** The dimensions whose rows carry visits and bounces (the visit's entry, exit and acquisition). */
export const visitDimensions = [
  'entry_page',
  'exit_page',
  'referrer_source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
];

/**
 * The metrics the API answers for rows of one dimension (GET /v1/sites/:site/breakdown documents
 * them): with a filter, every number comes from the filtered dimension's rows.
 */
export function metricsOfDimension(dimension: string): string[] {
  const base = ['visitors', 'pageviews', 'events', 'revenue'];
  if (visitDimensions.includes(dimension)) return [...base, 'visits', 'bounce_rate', 'views_per_visit'];
  return dimension === 'goal' ? [...base, 'conversions'] : base;
}
