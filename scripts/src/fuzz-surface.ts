import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';

/**
 * Property-based fuzzing of the public HTTP surface: generated malformed and hostile requests
 * against every ingest route and every serving route of the OpenAPI document, sent with
 * `app.inject()`. The properties: no 5xx; every 4xx is the JSON error body; no answer to a key for
 * site A holds another tenant's data; and (checked by the caller against events_raw) the events
 * stored are exactly the events acknowledged.
 */

export interface FuzzTargets {
  app: FastifyInstance;
  siteA: { id: string; domain: string; key: string };
  /** Another tenant: its id and domain appear in requests; its data must never appear in answers. */
  siteB: { id: string; domain: string; secret: string };
}

export interface EndpointReport {
  endpoint: string;
  tried: number;
  statuses: Record<number, number>;
  failures: string[];
}

export interface FuzzReport {
  endpoints: EndpointReport[];
  /** Events the ingest routes acknowledged (202 accepted counts, pixels, Plausible domains). */
  acknowledged: number;
}

/** Strings that have broken parsers, SQL and templates somewhere. */
const hostileStrings = [
  "' OR 1=1 --",
  "'); DROP TABLE events_raw; --",
  '{site:String}',
  "\\' UNION SELECT * FROM system.users --",
  'SELECT * FROM events_raw',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, literally
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '%00',
  '\u0000',
  '\uD800',
  '\uFEFF',
  'e\u0301\u200d\u202e',
  '💥'.repeat(300),
  '__proto__',
  'constructor',
  'NaN',
  '-1',
  '1e309',
  '9'.repeat(400),
  ' ',
  '',
  'a'.repeat(70_000),
  'javascript:alert(1)',
  'http://',
  `https://a.fuzz.example/${'x'.repeat(3000)}`,
  'site_id=x&site_id=y',
  '*',
  '%',
  '\\',
  'null',
];

const hostileString = fc.oneof(
  fc.constantFrom(...hostileStrings),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

function hostileValue(extra: string[]): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      hostileString,
      fc.constantFrom(...extra),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
    ),
  }));
  return value;
}

/** JSON nested deeper than any parser's recursion limit likes. */
const deepJson = fc
  .tuple(fc.integer({ min: 100, max: 200_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);

/** Bodies that are not the JSON they claim to be. */
const brokenBody: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
  deepJson,
  fc.constantFrom(
    '',
    'null',
    '[]',
    '{}',
    '""',
    '1e999',
    '{"a":1,"a":2}',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '\uFEFF{"name":"pageview"}',
    `{"events":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  ),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  // Invalid UTF-8 inside a JSON string.
  fc.constant(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])),
  // Over every body limit.
  fc.integer({ min: 70_000, max: 1_200_000 }).map((n) => `{"name":"${'x'.repeat(n)}"}`),
);

const safeHeaderValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('', 'x'.repeat(8000), '1.2.3.4, 999.1.1.1, ::ffff:zz, garbage', '\t'),
);

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=garbage',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json, text/plain',
  '*/*',
  'garbage',
];

/** Extra request headers: odd content types and encodings, forged addresses, huge values. */
const abusiveHeaders = fc.record(
  {
    'content-type': fc.oneof(fc.constantFrom(...contentTypes), safeHeaderValue),
    'content-encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'garbage'),
    'x-forwarded-for': safeHeaderValue,
    'user-agent': safeHeaderValue,
    referer: safeHeaderValue,
    origin: safeHeaderValue,
    'accept-language': safeHeaderValue,
    authorization: safeHeaderValue,
  },
  { requiredKeys: [] },
);

export interface FuzzCase {
  endpoint: string;
  request: InjectOptions;
  /** How many events a 2xx answer to this request stored; undefined for serving routes. */
  stored?: (response: LightMyRequestResponse) => number;
}

const eventFields = [
  'site_id',
  'name',
  'url',
  'referrer',
  'props',
  'revenue',
  'event_id',
  'timestamp',
  'interactive',
];

function eventArbitrary(t: FuzzTargets): fc.Arbitrary<Record<string, unknown>> {
  const siteIds = [t.siteA.id, t.siteB.id, t.siteB.domain];
  const value = hostileValue(siteIds);
  const field = fc.oneof(fc.constantFrom(...eventFields), hostileString);
  const base = { site_id: t.siteA.id, name: 'pageview', url: `https://${t.siteA.domain}/fuzz` };
  // A valid event with a few fields replaced or added, or an object of hostile fields.
  return fc.oneof(
    fc.dictionary(field, value, { maxKeys: 4 }).map((changes) => Object.assign({ ...base }, changes)),
    fc.dictionary(field, value, { maxKeys: 8 }),
  );
}

function jsonOrBroken(body: fc.Arbitrary<unknown>): fc.Arbitrary<string | Buffer> {
  return fc.oneof({ weight: 3, arbitrary: body.map((b) => JSON.stringify(b) ?? 'undefined') }, brokenBody);
}

function withHeaders(contentType: string, body: fc.Arbitrary<string | Buffer>) {
  return fc.tuple(body, abusiveHeaders, fc.boolean()).map(([payload, headers, abuse]) => ({
    payload,
    headers: abuse ? { 'content-type': contentType, ...headers } : { 'content-type': contentType },
  }));
}

function ingestCases(t: FuzzTargets): fc.Arbitrary<FuzzCase>[] {
  const event = eventArbitrary(t);
  const accepted = (r: LightMyRequestResponse) => (r.json() as { accepted: number }).accepted;
  const single = withHeaders('application/json', jsonOrBroken(event)).map(
    (r): FuzzCase => ({
      endpoint: 'POST /v1/events (one event)',
      request: { method: 'POST', url: '/v1/events', ...r },
      stored: accepted,
    }),
  );
  const batchBody = fc.oneof(
    fc.record({ events: fc.array(event, { maxLength: 20 }) }),
    fc.record({ events: hostileValue([t.siteA.id]) }),
    fc.integer({ min: 501, max: 600 }).map((n) => ({
      events: Array.from({ length: n }, () => ({ site_id: t.siteA.id, name: 'x', url: 'https://a/' })),
    })),
  );
  const batch = withHeaders('application/json', jsonOrBroken(batchBody)).map(
    (r): FuzzCase => ({
      endpoint: 'POST /v1/events (batch)',
      request: { method: 'POST', url: '/v1/events', ...r },
      stored: accepted,
    }),
  );
  const domains = [t.siteA.domain, t.siteB.domain, t.siteB.id, `${t.siteA.domain},${t.siteA.domain}`];
  const value = hostileValue(domains);
  const plausibleField = fc.constantFrom(
    'name',
    'n',
    'url',
    'u',
    'domain',
    'd',
    'referrer',
    'r',
    'props',
    'p',
    'm',
    '$',
    'i',
  );
  const plausibleBody = fc
    .dictionary(fc.oneof(plausibleField, hostileString), value, { minKeys: 1, maxKeys: 4 })
    .map((changes) =>
      Object.assign({ n: 'pageview', u: `https://${t.siteA.domain}/p`, d: t.siteA.domain }, changes),
    );
  const registered = new Set([t.siteA.domain, t.siteB.domain]);
  // A 202 stores one event per registered domain the body names (Plausible's "d" may list several).
  const plausibleStored = (request: InjectOptions) => () => {
    const body = JSON.parse(String(request.payload)) as Record<string, unknown>;
    const domain = body.domain ?? body.d;
    return String(domain ?? '')
      .split(',')
      .map((d) => d.trim())
      .filter((d) => registered.has(d)).length;
  };
  const plausible = (contentType: string, label: string) =>
    withHeaders(contentType, jsonOrBroken(plausibleBody)).map((r): FuzzCase => {
      const request: InjectOptions = { method: 'POST', url: '/api/event', ...r };
      return { endpoint: `POST /api/event (${label})`, request, stored: plausibleStored(request) };
    });
  const pixelParam = fc.oneof(fc.constantFrom('site_id', 'name', 'url', 'referrer'), hostileString);
  const pixelValue = fc.oneof(
    hostileString,
    fc.constantFrom(t.siteA.id, t.siteB.id, `https://${t.siteA.domain}/px`),
  );
  const pixel = fc
    .tuple(fc.array(fc.tuple(pixelParam, pixelValue), { maxLength: 6 }), fc.boolean(), abusiveHeaders)
    .map(([pairs, withSite, headers]): FuzzCase => {
      const query = new URLSearchParams(withSite ? [['site_id', t.siteA.id], ...pairs] : pairs);
      return {
        endpoint: 'GET /v1/pixel.gif',
        request: { method: 'GET', url: `/v1/pixel.gif?${query}`, headers },
        stored: () => 1,
      };
    });
  return [single, batch, plausible('application/json', 'JSON'), plausible('text/plain', 'text/plain'), pixel];
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string }[];
        requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
      }
    >
  >;
}

/** One generator per operation of the OpenAPI document, so a route added later is fuzzed too. */
async function servingCases(t: FuzzTargets): Promise<fc.Arbitrary<FuzzCase>[]> {
  const doc = (await t.app.inject('/docs/json')).json<OpenApiDocument>();
  const ingest = new Set(['/v1/events', '/api/event', '/v1/pixel.gif', '/js/script.js']);
  const ids = [t.siteA.id, t.siteB.id, t.siteB.domain, t.siteA.domain];
  // Mostly site A's own id, so the key passes and the parameters and filters reach the queries.
  const param = fc.oneof(
    { weight: 3, arbitrary: fc.constant(t.siteA.id) },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(...ids) },
  );
  const queryValue = fc.oneof(
    hostileString,
    fc.constantFrom(
      ...ids,
      '2026-11-01',
      '2026-11-26T00:00:00Z',
      '7d',
      'day',
      'hour',
      'visitors',
      'pageviews,visitors',
      'page==/a',
      'page!=/a;source==x',
      `site_id==${t.siteB.id}`,
    ),
  );
  const cases: fc.Arbitrary<FuzzCase>[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (ingest.has(path) || path.startsWith('/docs')) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (method === 'head') continue;
      const pathNames = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const queryNames = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const bodyNames = Object.keys(op.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      const queryName = queryNames.length
        ? fc.oneof(fc.constantFrom(...queryNames), hostileString)
        : hostileString;
      const bodyName = bodyNames.length
        ? fc.oneof(fc.constantFrom(...bodyNames), hostileString)
        : hostileString;
      const body = jsonOrBroken(fc.dictionary(bodyName, hostileValue(ids), { maxKeys: 6 }));
      const auth = fc.oneof(
        { weight: 4, arbitrary: fc.constant(`Bearer ${t.siteA.key}`) },
        safeHeaderValue,
        fc.constant(`Bearer ${t.siteA.key}x`),
      );
      cases.push(
        fc
          .record({
            pathValues: fc.array(param, { minLength: pathNames.length, maxLength: pathNames.length }),
            query: fc.array(fc.tuple(queryName, queryValue), { maxLength: 6 }),
            body,
            auth,
            headers: abusiveHeaders,
            abuse: fc.boolean(),
          })
          .map(({ pathValues, query, body, auth, headers, abuse }): FuzzCase => {
            let url = path;
            pathNames.forEach((name, i) => {
              url = url.replace(`{${name}}`, percentEncode(pathValues[i]!));
            });
            const search = new URLSearchParams(query).toString();
            const request: InjectOptions = {
              method: method.toUpperCase() as 'GET',
              url: search ? `${url}?${search}` : url,
              headers: {
                ...(abuse ? headers : {}),
                authorization: auth,
                ...(method === 'post' ? { 'content-type': 'application/json' } : {}),
              },
              ...(method === 'post' ? { payload: body } : {}),
            };
            return { endpoint: `${method.toUpperCase()} ${path}`, request };
          }),
      );
    }
  }
  return cases;
}

/** encodeURIComponent of the string's UTF-8 bytes (a lone surrogate becomes U+FFFD instead of throwing). */
function percentEncode(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

/** What is wrong with this answer, or undefined. */
function judge(t: FuzzTargets, fuzzCase: FuzzCase, response: LightMyRequestResponse): string | undefined {
  const { statusCode: status, body } = response;
  if (status >= 500) return `${status} ${body.slice(0, 300)}`;
  if (status >= 400) {
    let parsed: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      parsed = response.json();
    } catch {
      return `${status} answered without a JSON body: ${body.slice(0, 200)}`;
    }
    if (typeof parsed?.error?.code !== 'string' || typeof parsed.error.message !== 'string')
      return `${status} body is not {error:{code,message}}: ${body.slice(0, 200)}`;
    return undefined;
  }
  if (fuzzCase.stored === undefined && (body.includes(t.siteB.secret) || body.includes(t.siteB.id)))
    return `${status} answer holds the other tenant's data: ${body.slice(0, 300)}`;
  return undefined;
}

function describeRequest(request: InjectOptions): string {
  const payload = request.payload === undefined ? '' : String(request.payload).slice(0, 300);
  return `${request.method} ${String(request.url).slice(0, 300)} headers=${JSON.stringify(request.headers ?? {}).slice(0, 300)} body=${JSON.stringify(payload)}`;
}

/**
 * Runs `runs` generated requests per endpoint (fixed `seed`), every one checked as it is answered.
 * A failing property is not shrunk (shrinking re-sends requests that may store events); each
 * failure is reported with the request.
 */
export async function fuzzSurface(
  t: FuzzTargets,
  options: { runs: number; seed: number; only?: (endpoint: string) => boolean; maxFailures?: number },
): Promise<FuzzReport> {
  const generators = [...ingestCases(t), ...(await servingCases(t))];
  const reports = new Map<string, EndpointReport>();
  let acknowledged = 0;
  const maxFailures = options.maxFailures ?? 20;
  for (const [index, generator] of generators.entries()) {
    const samples = fc.sample(generator, { numRuns: options.runs, seed: options.seed + index });
    for (const fuzzCase of samples) {
      if (options.only && !options.only(fuzzCase.endpoint)) continue;
      let report = reports.get(fuzzCase.endpoint);
      if (!report) {
        report = { endpoint: fuzzCase.endpoint, tried: 0, statuses: {}, failures: [] };
        reports.set(fuzzCase.endpoint, report);
      }
      report.tried++;
      let failure: string | undefined;
      try {
        const response = await t.app.inject(fuzzCase.request);
        report.statuses[response.statusCode] = (report.statuses[response.statusCode] ?? 0) + 1;
        failure = judge(t, fuzzCase, response);
        if (!failure && fuzzCase.stored && response.statusCode < 300)
          acknowledged += fuzzCase.stored(response);
      } catch (error) {
        failure = `inject threw: ${(error as Error).message}`;
      }
      if (failure && report.failures.length < maxFailures)
        report.failures.push(`${failure}\n    request: ${describeRequest(fuzzCase.request)}`);
    }
  }
  return { endpoints: [...reports.values()], acknowledged };
}

/** A plain-text table: endpoint, requests, answers by status, failures. */
export function formatFuzzReport(report: FuzzReport): string {
  const rows = report.endpoints.map((e) => [
    e.endpoint,
    String(e.tried),
    Object.entries(e.statuses)
      .map(([s, n]) => `${s}×${n}`)
      .join(' '),
    String(e.failures.length),
  ]);
  const header = ['endpoint', 'requests', 'answers', 'failures'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
