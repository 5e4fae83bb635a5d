import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEnricher, type EnrichInput } from '../../src/enrichment/index.js';
import { loadBotSamples, loadBrowserSamples } from './shared-data.js';

const chromeWindows =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const iPhone =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const pageUrl = new URL('https://shop.example/pricing');

describe('createEnricher', () => {
  it('fills every column for a browser visit from a search engine', () => {
    const enricher = createEnricher();
    assert.deepEqual(enricher.enrich({ userAgent: iPhone, referrer: 'https://www.google.com/', pageUrl }), {
      browser: 'Mobile Safari',
      browser_version: '17',
      os: 'iOS',
      device: 'mobile',
      is_bot: false,
      referrer_source: 'Google',
      channel: 'organic_search',
    });
  });

  it('flags a crawler as a bot device but keeps what its user agent says', () => {
    const enriched = createEnricher().enrich({
      userAgent: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      referrer: '',
      pageUrl,
    });
    assert.equal(enriched.is_bot, true);
    assert.equal(enriched.device, 'bot');
    assert.equal(enriched.channel, 'direct');
  });

  it('flags an empty user agent', () => {
    const enriched = createEnricher().enrich({ userAgent: '', referrer: '', pageUrl });
    assert.deepEqual([enriched.is_bot, enriched.device, enriched.browser], [true, 'bot', '']);
  });

  it('uses headers only against user agents that name no browser', () => {
    const enricher = createEnricher();
    const unknownClient = 'Dalvik/2.1.0 (Linux; U; Android 11; SM-A105F Build/RP1A.200720.012)';
    assert.equal(enricher.enrich({ userAgent: unknownClient, referrer: '', pageUrl }).is_bot, false);
    assert.equal(
      enricher.enrich({ userAgent: unknownClient, referrer: '', pageUrl, headers: {} }).is_bot,
      true,
    );
    assert.equal(
      enricher.enrich({
        userAgent: unknownClient,
        referrer: '',
        pageUrl,
        headers: { 'accept-language': 'en' },
      }).is_bot,
      false,
    );
    assert.equal(
      enricher.enrich({ userAgent: chromeWindows, referrer: '', pageUrl, headers: {} }).is_bot,
      false,
    );
  });

  it('gives equal results for a repeated user agent, from the cache or not', () => {
    const cached = createEnricher({ cacheSize: 10 });
    const uncached = createEnricher({ cacheSize: 1 });
    const input = { userAgent: chromeWindows, referrer: 'https://t.co/x', pageUrl };
    const first = cached.enrich(input);
    uncached.enrich({ ...input, userAgent: iPhone });
    assert.deepEqual(cached.enrich(input), first);
    assert.deepEqual(uncached.enrich(input), first);
  });

  // CPU time rather than wall time: test machines are shared, and a busy neighbour would
  // otherwise show up as a slow enricher.
  it('reports throughput on a realistic mix', (t) => {
    const inputs = realisticMix(20_000);
    const enricher = createEnricher();
    for (const input of inputs) enricher.enrich(input); // fills the cache, as steady traffic would
    const calls = 200_000;
    const started = process.cpuUsage();
    for (let i = 0; i < calls; i++) enricher.enrich(inputs[i % inputs.length]!);
    const perSecond = calls / cpuSecondsSince(started);

    // Every shared sample once, each different from the one before: a cache of one never hits.
    const distinct = [...loadBrowserSamples(), ...loadBotSamples()].map((sample) => ({
      userAgent: sample.ua,
      referrer: 'https://www.google.com/',
      pageUrl,
    }));
    const cold = createEnricher({ cacheSize: 1 });
    const coldStarted = process.cpuUsage();
    for (const input of distinct) cold.enrich(input);
    const coldPerSecond = distinct.length / cpuSecondsSince(coldStarted);

    t.diagnostic(
      `enrich, cached user agents: ${Math.round(perSecond).toLocaleString('en')} calls per CPU-second`,
    );
    t.diagnostic(
      `enrich, every user agent parsed: ${Math.round(coldPerSecond).toLocaleString('en')} calls per CPU-second`,
    );
    // Far below what is measured; only catches a hot path that lost its cache or went quadratic.
    assert.ok(perSecond > 20_000, `${perSecond} calls/s`);
  });
});

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/**
 * Real traffic: a few current browsers make most events, a long tail of other real user agents
 * and a share of crawlers make the rest; referrers are mostly direct, internal or search.
 */
function realisticMix(count: number): EnrichInput[] {
  const common = [
    chromeWindows,
    iPhone,
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0',
  ];
  const tail = loadBrowserSamples().map((sample) => sample.ua);
  const bots = loadBotSamples().map((sample) => sample.ua);
  const referrers = [
    '',
    '',
    '',
    'https://shop.example/',
    'https://shop.example/blog',
    'https://www.google.com/',
    'https://www.bing.com/',
    'https://l.facebook.com/',
    'https://t.co/abc',
    'https://blog.example/post',
    'android-app://com.google.android.gm/',
  ];
  const pages = [
    pageUrl,
    new URL('https://shop.example/?utm_source=newsletter&utm_medium=email'),
    new URL('https://shop.example/landing?utm_source=google&utm_medium=cpc&gclid=x'),
  ];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, () => {
    const roll = random();
    const userAgent = roll < 0.8 ? pick(common) : roll < 0.9 ? pick(tail) : pick(bots);
    return { userAgent, referrer: pick(referrers), pageUrl: random() < 0.9 ? pageUrl : pick(pages) };
  });
}
