import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createLogger, createRedis, type Redis } from '@sightline/core';
import { testStack } from '@sightline/core/testing';
import { type AcceptDeps, acceptEvent } from '../src/accept.js';
import type { RequestFacts } from '../src/enrich.js';
import { createEnricher } from '../src/enrichment/index.js';
import { toMessages } from '../src/event-producer.js';
import { SiteCache } from '../src/site-cache.js';
import { VisitorSalts } from '../src/visitor-salt.js';
import { site } from './harness.js';

/**
 * The Kafka messages ingest makes of a fixed set of bodies and request facts, byte for byte: the
 * rows land in events_raw as they are, so a change to how they are built (speed, not meaning) must
 * leave them identical. The expected messages were recorded from the code before such changes;
 * change them only with a change of meaning (and ENRICH_VERSION when a derived column moves).
 */
const receivedAt = Date.UTC(2020, 0, 2, 12, 0, 0, 123);
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const chrome =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const iphone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const requests: { facts: RequestFacts; items: unknown[] }[] = [
  {
    facts: {
      ip: '198.51.100.7',
      userAgent: chrome,
      country: 'DE',
      acceptLanguage: 'de-DE,de;q=0.9',
      receivedAt,
    },
    items: [
      { site_id: 's_shop', name: 'pageview', url: 'https://shop.example/', event_id: id(1) },
      {
        site_id: 's_shop',
        name: '  signup  ',
        url: 'https://www.shop.example/pricing/?utm_source=news&utm_medium=email&utm_campaign=nov&utm_content=a&utm_term=b',
        referrer: 'https://www.google.com/search?q=x',
        props: { plan: 'pro', seats: 3, trial: true, ratio: 0.5, quote: 'say "hi"\\\n\t\u0001 é 🙂' },
        timestamp: '2020-01-02T13:00:00.5+02:00',
        interactive: false,
        event_id: id(2),
      },
      {
        site_id: 's_shop',
        name: 'purchase',
        url: 'https://shop.example/checkout?gclid=abc',
        revenue: { amount: '19.90', currency: 'EUR' },
        timestamp: receivedAt - 3600_000,
        event_id: id(3),
      },
      {
        site_id: 's_shop',
        name: 'pageview',
        url: 'https://shop.example/a',
        referrer: 'https://shop.example/b',
        event_id: id(4),
      },
      {
        site_id: 's_blog',
        name: 'pageview',
        url: 'http://blog.example/p/1',
        referrer: 'android-app://com.slack/',
        event_id: id(5),
      },
      { site_id: 's_shop', name: 'lone \ud800 surrogate', url: 'https://shop.example/', event_id: id(6) },
      {
        site_id: 's_shop',
        name: 'refund',
        url: 'https://shop.example/',
        revenue: { amount: -5, currency: 'USD' },
        event_id: id(7),
      },
      {
        site_id: 's_blog',
        name: 'pageview',
        url: 'https://blog.example/?utm_source=facebook&utm_medium=cpc',
        timestamp: receivedAt + 60_000,
        event_id: id(8),
      },
      {
        site_id: 's_shop',
        name: 'pageview',
        url: 'https://shop.example/x',
        referrer: 'not a url',
        props: {},
        event_id: id(9),
      },
    ],
  },
  {
    facts: { ip: '203.0.113.9', userAgent: iphone, country: '', acceptLanguage: undefined, receivedAt },
    items: [
      {
        site_id: 's_blog',
        name: 'pageview',
        url: 'https://blog.example/',
        referrer: 'https://t.co/xyz',
        event_id: id(10),
      },
      { site_id: 's_blog', name: 'pageview', url: 'https://blog.example/', event_id: id(11) },
    ],
  },
  {
    facts: {
      ip: '203.0.113.10',
      userAgent: 'curl/8.5.0',
      country: '',
      acceptLanguage: undefined,
      receivedAt,
    },
    items: [{ site_id: 's_blog', name: 'pageview', url: 'https://blog.example/', event_id: id(12) }],
  },
  {
    facts: { ip: '203.0.113.11', userAgent: '', country: 'FR', acceptLanguage: 'fr', receivedAt },
    items: [{ site_id: 's_shop', name: 'pageview', url: 'https://shop.example/', event_id: id(13) }],
  },
];

describe('the Kafka rows of a fixed set of requests', () => {
  let redis: Redis;
  let deps: AcceptDeps;
  before(async () => {
    const { config } = await testStack('kafka-rows');
    const logger = createLogger(config);
    redis = createRedis(config);
    // A fixed salt for the requests' day (long past, so no other test uses it): fixed visitor ids.
    await redis.set('sightline:salt:2020-01-02', Buffer.alloc(32, 7).toString('base64'), 'EX', 600);
    const sites = [
      site({ site_id: 's_shop', domain: 'shop.example' }),
      site({ site_id: 's_blog', domain: 'blog.example' }),
    ];
    const cache = new SiteCache({ load: async () => sites, logger });
    await cache.refresh();
    deps = { sites: cache, salts: new VisitorSalts(redis, logger), enricher: createEnricher() };
  });
  after(() => redis?.disconnect());

  it('are byte for byte the recorded ones', async () => {
    const messages = [];
    for (const { facts, items } of requests) {
      const verdicts = await Promise.all(items.map((item) => acceptEvent(item, facts, deps)));
      assert.deepEqual(
        verdicts.flatMap((v) => (v.ok ? [] : [v.error])),
        [],
      );
      messages.push(...toMessages(verdicts.flatMap((v) => (v.ok ? [v.event] : []))));
    }
    const actual = messages.map((m) => ({ key: m.key, value: String(m.value) }));
    const expected = JSON.parse(
      await readFile(new URL('fixtures/kafka-rows.json', import.meta.url), 'utf8'),
    ) as typeof actual;
    assert.deepEqual(actual, expected);
  });
});
