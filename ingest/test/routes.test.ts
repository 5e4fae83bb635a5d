import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type IngestHarness, ingestHarness, site } from './harness.js';

const shop = site({ site_id: 's_shop', domain: 'shop.example' });
const locked = site({
  site_id: 's_locked',
  domain: 'locked.example',
  allowed_hostnames: ['locked.example', '*.cdn.locked.example'],
});
const ua =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

function event(overrides: Record<string, unknown> = {}) {
  return {
    site_id: 's_shop',
    name: 'pageview',
    url: 'https://shop.example/pricing',
    event_id: randomUUID(),
    ...overrides,
  };
}

describe('ingest endpoints on the real Kafka', () => {
  let h: IngestHarness;
  const acceptedIds: string[] = [];

  before(async () => {
    h = await ingestHarness('ingest-routes', [shop, locked], { COUNTRY_HEADER: 'CF-IPCountry' });
  });
  after(async () => {
    await h?.close();
  });

  async function post(body: unknown, headers: Record<string, string> = {}) {
    return h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', 'user-agent': ua, ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  it('accepts one event with 202 and its event_id, once it is on Kafka', async () => {
    const e = event({
      url: 'https://www.shop.example/pricing/?utm_source=news&utm_medium=email&utm_campaign=nov',
      referrer: 'https://www.google.com/',
      props: { plan: 'pro', seats: 3, trial: true },
      revenue: { amount: '19.90', currency: 'EUR' },
      timestamp: Date.now() - 3600_000,
      interactive: false,
    });
    const response = await post(e, { 'cf-ipcountry': 'de', 'x-forwarded-for': '198.51.100.7' });
    assert.equal(response.statusCode, 202);
    assert.deepEqual(response.json(), { accepted: 1, event_ids: [e.event_id] });
    acceptedIds.push(e.event_id);
  });

  it('accepts the valid items of a batch and lists each rejected one with its index and rule', async () => {
    const good = [event(), event({ name: 'signup' })];
    const response = await post({ events: [good[0], { ...event(), url: 'ftp://x' }, good[1], { nope: 1 }] });
    assert.equal(response.statusCode, 202);
    const body = response.json();
    assert.equal(body.accepted, 2);
    assert.deepEqual(
      body.event_ids,
      good.map((g) => g.event_id),
    );
    assert.deepEqual(
      body.rejected.map((r: { index: number; error: { code: string } }) => [r.index, r.error.code]),
      [
        [1, 'invalid_event'],
        [3, 'invalid_event'],
      ],
    );
    acceptedIds.push(...good.map((g) => g.event_id));
  });

  it('refuses a batch with no valid item, an empty batch and one of more than 500', async () => {
    const none = await post({ events: [{ nope: 1 }] });
    assert.equal(none.statusCode, 400);
    assert.equal(none.json().error.code, 'invalid_batch');
    assert.equal(none.json().rejected[0].index, 0);
    for (const events of [[], Array.from({ length: 501 }, () => event())]) {
      const response = await post({ events });
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error.code, 'invalid_batch');
      assert.match(response.json().error.message, /1 to 500 events/);
    }
  });

  const rules: [string, Record<string, unknown>, string, RegExp][] = [
    ['missing site_id', { site_id: undefined }, 'site_id', /expected string/i],
    ['site_id with odd characters', { site_id: 'a b' }, 'site_id', /only letters, digits/],
    ['empty name', { name: '' }, 'name', /too small/i],
    ['name over 120 characters', { name: 'x'.repeat(121) }, 'name', /too big/i],
    ['relative url', { url: '/pricing' }, 'url', /absolute http\(s\) URL/],
    ['javascript: url', { url: 'javascript:alert(1)' }, 'url', /absolute http\(s\) URL/],
    ['url over 2048 characters', { url: `https://shop.example/${'a'.repeat(2048)}` }, 'url', /too big/i],
    [
      '31 props',
      { props: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, 'v'])) },
      'props',
      /at most 30 props/,
    ],
    ['prop value over 2000 characters', { props: { k: 'v'.repeat(2001) } }, 'props.k', /too big/i],
    ['prop value that is an object', { props: { k: { nested: true } } }, 'props.k', /invalid/i],
    [
      'revenue currency not ISO 4217',
      { revenue: { amount: 5, currency: 'euro' } },
      'revenue.currency',
      /ISO 4217/,
    ],
    [
      'revenue amount not a number',
      { revenue: { amount: 'five', currency: 'EUR' } },
      'revenue.amount',
      /decimal number/,
    ],
    ['event_id not a UUID', { event_id: 'abc' }, 'event_id', /uuid/i],
    [
      'timestamp without a time zone',
      { timestamp: '2026-11-26T10:00:00' },
      'timestamp',
      /ISO 8601 with a time zone/,
    ],
    ['an unknown field', { colour: 'red' }, '(body)', /unrecognized key/i],
  ];
  for (const [rule, change, path, message] of rules) {
    it(`refuses ${rule} with a 400 naming ${path}`, async () => {
      const response = await post(event(change));
      assert.equal(response.statusCode, 400);
      const { error } = response.json();
      assert.equal(error.code, 'invalid_event');
      assert.ok(
        error.details.some(
          (d: { path: string; message: string }) => d.path === path && message.test(d.message),
        ),
        JSON.stringify(error.details),
      );
    });
  }

  const checks: [string, Record<string, unknown>, string, RegExp][] = [
    ['an unknown site', { site_id: 's_nobody' }, 'unknown_site', /not a registered site/],
    [
      'a page hostname the site does not allow',
      { site_id: 's_locked', url: 'https://evil.example/' },
      'hostname_not_allowed',
      /evil\.example/,
    ],
    ['a timestamp 10 minutes ahead', { timestamp: Date.now() + 600_000 }, 'timestamp_out_of_range', /future/],
    [
      'a timestamp 73 hours old',
      { timestamp: new Date(Date.now() - 73 * 3600_000).toISOString() },
      'timestamp_out_of_range',
      /72 hours/,
    ],
  ];
  for (const [what, change, code, message] of checks) {
    it(`refuses ${what} with ${code}`, async () => {
      const response = await post(event(change));
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error.code, code);
      assert.match(response.json().error.message, message);
    });
  }

  it("accepts a subdomain the site's wildcard allows", async () => {
    const e = event({ site_id: 's_locked', url: 'https://img.cdn.locked.example/a' });
    const response = await post(e);
    assert.equal(response.statusCode, 202);
    acceptedIds.push(e.event_id);
  });

  it('refuses malformed JSON, a wrong content type and a body over the limit', async () => {
    const broken = await post('{"site_id":');
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().error.code, 'invalid_json');
    const xml = await h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/xml' },
      payload: '<e/>',
    });
    assert.equal(xml.statusCode, 415);
    assert.equal(xml.json().error.code, 'unsupported_media_type');
    const huge = await post({ events: [event({ props: { k: 'x'.repeat(1024 * 1024) } })] });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error.code, 'body_too_large');
  });

  it('accepts JSON sent as text/plain (sendBeacon) and answers CORS preflights', async () => {
    const e = event();
    const beacon = await post(JSON.stringify(e), {
      'content-type': 'text/plain;charset=UTF-8',
      origin: 'https://shop.example',
    });
    assert.equal(beacon.statusCode, 202);
    assert.equal(beacon.headers['access-control-allow-origin'], 'https://shop.example');
    acceptedIds.push(e.event_id);
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/v1/events',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
  });

  describe('POST /api/event (Plausible compatible)', () => {
    async function plausible(body: unknown, contentType = 'application/json') {
      return h.app.inject({
        method: 'POST',
        url: '/api/event',
        headers: { 'content-type': contentType, 'user-agent': ua, 'x-forwarded-for': '203.0.113.9' },
        payload: JSON.stringify(body),
      });
    }

    it('takes the long field names of the Events API docs and answers 202 "ok"', async () => {
      const response = await plausible({
        name: 'Signup',
        url: 'https://shop.example/register',
        domain: 'shop.example',
        referrer: 'https://news.ycombinator.com/',
        props: { plan: 'Business', logged_in: false },
        revenue: { currency: 'USD', amount: 1322.22 },
        interactive: true,
      });
      assert.equal(response.statusCode, 202);
      assert.equal(response.body, 'ok');
    });

    it("takes the tracker's short names as text/plain, props as a JSON string, and several domains", async () => {
      const response = await plausible(
        {
          n: 'pageview',
          u: 'https://locked.example/',
          d: 'shop.example,locked.example',
          r: null,
          p: '{"author":"kim"}',
          i: false,
        },
        'text/plain',
      );
      assert.equal(response.statusCode, 202);
    });

    it('refuses an unknown domain, a missing domain and a bad URL with a 400 naming the field', async () => {
      const unknown = await plausible({ name: 'pageview', url: 'https://x.example/', domain: 'x.example' });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().error.code, 'unknown_site');
      const missing = await plausible({ name: 'pageview', url: 'https://shop.example/' });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error.details[0].path, 'domain');
      const badUrl = await plausible({ name: 'pageview', url: 'shop', domain: 'shop.example' });
      assert.equal(badUrl.statusCode, 400);
      assert.equal(badUrl.json().error.details[0].path, 'url');
    });
  });

  describe('GET /v1/pixel.gif', () => {
    it('records a pageview and answers a 1×1 GIF; the page defaults to the Referer', async () => {
      const response = await h.app.inject({
        method: 'GET',
        url: '/v1/pixel.gif?site_id=s_shop',
        headers: { referer: 'https://shop.example/newsletter/nov', 'user-agent': ua },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'image/gif');
      assert.equal(response.rawPayload.subarray(0, 6).toString(), 'GIF89a');
      assert.equal(response.headers['cache-control'], 'no-store');
    });

    it('refuses a pixel without a site or page with a 400', async () => {
      const response = await h.app.inject({ method: 'GET', url: '/v1/pixel.gif?site_id=s_shop' });
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error.details[0].path, 'url');
    });
  });

  it('put exactly the accepted events on Kafka, enriched, and nothing from a rejected request', async () => {
    // 1 single + 2 batch + 1 wildcard + 1 beacon + 1 + 2 Plausible + 1 pixel
    const expected = acceptedIds.length + 4;
    const events = await h.readTopic(expected + 1, 8000);
    assert.equal(events.length, expected, 'no more and no fewer than acknowledged');
    for (const id of acceptedIds)
      assert.ok(
        events.some((e) => e.event_id === id),
        `event ${id} is on Kafka`,
      );

    const first = events.find((e) => e.event_id === acceptedIds[0])!;
    assert.equal(first.hostname, 'shop.example');
    assert.equal(first.pathname, '/pricing');
    assert.deepEqual([first.utm_source, first.utm_medium, first.utm_campaign], ['news', 'email', 'nov']);
    assert.equal(first.country, 'DE');
    assert.deepEqual(first.props, { plan: 'pro', seats: '3', trial: 'true' });
    assert.equal(first.revenue_amount, '19.90');
    assert.equal(first.interactive, false);
    assert.match(first.visitor_id, /^\d+$/);
    assert.doesNotMatch(JSON.stringify(first), /198\.51\.100\.7/, 'the IP is never stored');
    assert.equal(JSON.parse(first.raw).user_agent, ua);

    const plausibleEvents = events.filter((e) => e.name === 'Signup' || e.props.author === 'kim');
    assert.deepEqual(plausibleEvents.map((e) => e.site_id).sort(), ['s_locked', 's_shop', 's_shop']);
    const signup = events.find((e) => e.name === 'Signup')!;
    assert.deepEqual(
      [signup.revenue_amount, signup.revenue_currency, signup.props.logged_in],
      ['1322.22', 'USD', 'false'],
    );
    const pixel = events.find((e) => e.pathname === '/newsletter/nov')!;
    assert.equal(pixel.name, 'pageview');
  });

  it('counts accepted and rejected events by reason on /metrics', async () => {
    const metrics = await h.registry.getSingleMetricAsString('sightline_ingest_events_rejected_total');
    assert.match(metrics, /reason="unknown_site"} [1-9]/);
    assert.match(metrics, /reason="invalid_event"} [1-9]/);
    const accepted = await h.registry.getSingleMetricAsString('sightline_ingest_events_accepted_total');
    assert.match(accepted, /stored="kafka"} [1-9]/);
  });
});

describe('rate limits', () => {
  let h: IngestHarness;
  before(async () => {
    h = await ingestHarness('ingest-limits', [site({ site_id: `s_rl_${Date.now()}` })], {
      RATE_LIMIT_IP_PER_MINUTE: '3',
    });
  });
  after(async () => {
    await h?.close();
  });

  it('answers 429 with Retry-After past the per-IP limit', async () => {
    const ip = `192.0.2.${Math.floor(Math.random() * 250)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        payload: JSON.stringify({ site_id: 'nobody', name: 'pageview', url: 'https://x.example/' }),
      });
      statuses.push(response.statusCode);
      if (response.statusCode === 429) {
        assert.ok(Number(response.headers['retry-after']) >= 1);
        assert.equal(response.json().error.code, 'rate_limited');
      }
    }
    assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
  });
});
