import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventInputSchema } from '@sightline/core';
import { DueHeap } from '../src/generator/heap.js';
import {
  createRandom,
  dailyShare,
  defaultDataDir,
  type GeneratedRequest,
  type GeneratorOptions,
  generateTraffic,
  loadUserAgents,
  summarize,
} from '../src/index.js';

const HOUR = 3_600_000;
const sites = ['alpha', 'beta', 'gamma', 'delta'];
/** Midday, two hours: about 150k requests, enough for shares to settle within a few percent. */
const base: GeneratorOptions = {
  seed: 42,
  sites,
  start: Date.UTC(2025, 2, 10, 12),
  durationMs: 2 * HOUR,
  eventsPerSecond: 30,
};
const requests = [...generateTraffic(base)];
const originals = requests.filter((request) => request.kind !== 'duplicate');

function fingerprint(options: GeneratorOptions): string {
  const hash = createHash('sha256');
  for (const request of generateTraffic(options)) hash.update(`${JSON.stringify(request)}\n`);
  return hash.digest('hex');
}

function share(count: number, total: number): number {
  return count / total;
}

function assertNear(actual: number, expected: number, relativeTolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= expected * relativeTolerance,
    `${what}: ${actual.toFixed(4)} is not within ${relativeTolerance * 100}% of ${expected}`,
  );
}

describe('generateTraffic', () => {
  it('yields the same bytes for the same seed and different ones for another seed', () => {
    const short = { ...base, durationMs: HOUR / 2 };
    const first = fingerprint(short);
    assert.equal(fingerprint(short), first);
    assert.notEqual(fingerprint({ ...short, seed: 43 }), first);
  });

  it('produces bodies that the ingest contract accepts, each with a UUID event_id and an epoch-ms timestamp', () => {
    assert.ok(requests.length > 100_000, `only ${requests.length} requests`);
    for (const { body } of requests) {
      const parsed = eventInputSchema.safeParse(body);
      assert.ok(parsed.success, `${JSON.stringify(body)}: ${parsed.error?.message}`);
      assert.equal(typeof body.event_id, 'string');
      assert.ok(Number.isSafeInteger(body.timestamp));
    }
  });

  it('gives every event a unique event_id except retries', () => {
    const ids = new Set(originals.map((request) => request.body.event_id));
    assert.equal(ids.size, originals.length);
  });

  it('sends in simulated-time order within the run, originals stamped with the send time', () => {
    const end = base.start + base.durationMs;
    let previous = base.start;
    for (const request of requests) {
      assert.ok(request.sentAt >= previous, 'sentAt went backwards');
      assert.ok(request.sentAt < end, 'sentAt past the end');
      previous = request.sentAt;
      const timestamp = request.body.timestamp as number;
      if (request.kind === 'original') assert.equal(timestamp, request.sentAt);
      if (request.kind === 'late') {
        assert.ok(timestamp <= request.sentAt - HOUR && timestamp >= request.sentAt - 48 * HOUR);
      }
      // A retry keeps its original's timestamp, which is in the past for a retried late event.
      if (request.kind === 'duplicate') assert.ok(timestamp <= request.sentAt);
    }
  });

  it('skews traffic across sites like Zipf, the first site busiest', () => {
    const summary = summarize(requests);
    const counts = sites.map((site) => summary.sites[site]?.requests ?? 0);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i - 1]! > counts[i]!, `counts ${counts}`);
    const harmonic = sites.reduce((sum, _, i) => sum + 1 / (i + 1) ** 1.1, 0);
    assertNear(share(counts[0]!, requests.length), 1 / harmonic, 0.03, 'first site share');
  });

  it('hits the bot, duplicate and late shares', () => {
    const { total } = summarize(requests);
    assertNear(share(total.bots + countKind('duplicate', true), total.requests), 0.05, 0.1, 'bot share');
    assertNear(share(total.duplicates, total.requests), 0.02, 0.1, 'duplicate share');
    assertNear(share(total.late, total.requests), 0.01, 0.12, 'late share');

    const none = summarize(
      generateTraffic({ ...base, durationMs: HOUR / 4, botShare: 0, duplicateShare: 0, lateShare: 0 }),
    );
    assert.deepEqual([none.total.bots, none.total.duplicates, none.total.late], [0, 0, 0]);
  });

  it('makes a duplicate repeat an earlier request exactly, as a client retry does', () => {
    const earlier = new Map<string, GeneratedRequest>();
    let duplicates = 0;
    for (const request of requests) {
      const id = request.body.event_id!;
      if (request.kind !== 'duplicate') {
        earlier.set(id, request);
        continue;
      }
      duplicates++;
      const original = earlier.get(id);
      assert.ok(original, `duplicate ${id} before its original`);
      assert.equal(JSON.stringify(request.body), JSON.stringify(original.body));
      assert.notEqual(request.body, original.body, 'a retry shares its body object with the original');
      assert.deepEqual(
        [request.ip, request.userAgent, request.country, request.isBot, request.sessionId],
        [original.ip, original.userAgent, original.country, original.isBot, original.sessionId],
      );
      assert.ok(request.sentAt >= original.sentAt);
    }
    assert.ok(duplicates > 0);
  });

  it('groups pageviews into sessions of several pages from one visitor', () => {
    const sessions = new Map<number, GeneratedRequest[]>();
    for (const request of originals) {
      const list = sessions.get(request.sessionId) ?? [];
      list.push(request);
      sessions.set(request.sessionId, list);
    }
    const pageviewCounts = [...sessions.values()].map(
      (events) => events.filter((event) => event.body.name === 'pageview').length,
    );
    const mean = pageviewCounts.reduce((sum, count) => sum + count, 0) / pageviewCounts.length;
    assert.ok(mean > 3 && mean < 4, `mean pageviews per session ${mean}`);
    assert.ok(pageviewCounts.filter((count) => count >= 3).length > pageviewCounts.length / 3);

    for (const events of sessions.values()) {
      const [first] = events;
      for (const event of events) {
        assert.deepEqual(
          [event.body.site_id, event.ip, event.userAgent, event.isBot],
          [first!.body.site_id, first!.ip, first!.userAgent, first!.isBot],
        );
      }
      // Inside a session a pageview's referrer is the page before it, as a browser sends it.
      const pageviews = events.filter((event) => event.body.name === 'pageview');
      for (let i = 1; i < pageviews.length; i++)
        assert.equal(pageviews[i]!.body.referrer, pageviews[i - 1]!.body.url);
      for (let i = 1; i < events.length; i++) {
        const gap = events[i]!.sentAt - events[i - 1]!.sentAt;
        assert.ok(gap >= 500 && gap <= 20 * 60_000, `gap ${gap} ms`);
      }
    }
  });

  it('draws entry sources, UTM tags, countries and user agents like real traffic', () => {
    const humans = originals.filter((request) => !request.isBot);
    const referrers = new Set(humans.map((request) => request.body.referrer));
    for (const referrer of ['', 'https://www.google.com/', 'https://www.facebook.com/'])
      assert.ok(referrers.has(referrer));
    assert.ok([...referrers].some((referrer) => referrer?.startsWith('https://t.co/')));
    const tagged = humans.filter((request) => new URL(request.body.url).searchParams.has('utm_source'));
    assert.ok(tagged.length > 0);
    for (const request of tagged) {
      const params = new URL(request.body.url).searchParams;
      assert.ok(params.get('utm_medium') && params.get('utm_campaign'));
    }

    const countries = new Map<string, number>();
    for (const request of originals) {
      assert.match(request.country, /^[A-Z]{2}$/);
      countries.set(request.country, (countries.get(request.country) ?? 0) + 1);
    }
    const ranked = [...countries.entries()].sort((a, b) => b[1] - a[1]);
    assert.equal(ranked[0]![0], 'US');
    assert.ok(ranked.length > 20);

    const userAgents = loadUserAgents();
    const browsers = new Set(userAgents.browsers.map((browser) => browser.ua));
    const bots = new Set(userAgents.bots);
    for (const request of originals) assert.ok((request.isBot ? bots : browsers).has(request.userAgent));

    for (const { ip } of originals) {
      assert.match(ip, /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:)/);
    }
    for (const { body } of originals) assert.equal(new URL(body.url).hostname, `${body.site_id}.example`);
  });

  it('mixes custom events with props, revenue and non-interactive events', () => {
    const byName = new Map<string, GeneratedRequest[]>();
    for (const request of originals) {
      const list = byName.get(request.body.name) ?? [];
      list.push(request);
      byName.set(request.body.name, list);
    }
    for (const name of ['pageview', 'signup', 'add_to_cart', 'purchase', 'scroll_depth'])
      assert.ok(byName.has(name), name);
    for (const { body } of byName.get('purchase')!) {
      assert.equal(body.revenue?.currency, 'EUR');
      assert.ok(Number(body.revenue?.amount) > 0);
      assert.match(String(body.props?.product), /^sku-\d+$/);
    }
    for (const { body } of byName.get('signup')!)
      assert.ok(['free', 'pro', 'team'].includes(String(body.props?.plan)));
    for (const { body } of byName.get('scroll_depth')!) assert.equal(body.interactive, false);
    for (const { body } of byName.get('pageview')!) assert.equal(body.interactive, undefined);
    assert.ok(
      originals.filter((request) => request.isBot).every((request) => request.body.name === 'pageview'),
    );
  });

  it('follows the daily cycle: the full rate at the evening peak, about a fifth of it at night', () => {
    const day = Date.UTC(2025, 2, 10);
    const perSecond = (start: number): number =>
      [...generateTraffic({ ...base, start, durationMs: HOUR })].length / 3600;
    // The hours around the peak and the trough average 0.99 and 0.21 of the peak rate.
    assertNear(perSecond(day + 19.5 * HOUR), 30, 0.05, 'peak rate');
    assertNear(perSecond(day + 3.5 * HOUR), 30 * 0.2, 0.1, 'night rate');
    assert.equal(dailyShare(day + 20 * HOUR), 1);
    assert.equal(dailyShare(day + 4 * HOUR), 0.2);
  });

  it('uses hostnameFor and an explicit dataDir', () => {
    const options = { ...base, durationMs: 60_000, hostnameFor: (site: string) => `www.${site}.test` };
    const [first] = [...generateTraffic({ ...options, dataDir: defaultDataDir })];
    assert.match(first!.body.url, /^https:\/\/www\.[a-z]+\.test\//);
    assert.equal(fingerprint({ ...options, dataDir: defaultDataDir }), fingerprint(options));
    assert.throws(() => generateTraffic({ ...options, dataDir: '/nonexistent' }).next(), /ENOENT/);
  });

  it('refuses options it cannot honour', () => {
    const bad: Partial<GeneratorOptions>[] = [
      { sites: [] },
      { sites: ['a', 'a'] },
      { durationMs: 0 },
      { eventsPerSecond: -1 },
      { botShare: 1 },
      { duplicateShare: 0.6, lateShare: 0.5 },
    ];
    for (const override of bad)
      assert.throws(() => generateTraffic({ ...base, ...override }).next(), RangeError);
  });
});

describe('summarize', () => {
  it('adds up per site and in total', () => {
    const summary = summarize(requests);
    assert.equal(summary.total.requests, requests.length);
    assert.deepEqual(Object.keys(summary.sites).sort(), [...sites].sort());
    for (const key of Object.keys(summary.total) as (keyof typeof summary.total)[]) {
      if (key === 'visitors' || key === 'revenue') continue;
      const sum = Object.values(summary.sites).reduce((total, site) => total + site[key], 0);
      assert.equal(sum, summary.total[key], key);
    }
    const { total } = summary;
    assert.equal(total.originals + total.late + total.duplicates, total.requests);
    assert.equal(total.uniqueEvents, originals.length);
    assert.equal(total.pageviews + total.events + total.bots, total.uniqueEvents);
    assert.equal(total.pageviews, originals.filter((r) => !r.isBot && r.body.name === 'pageview').length);
    assert.ok(total.revenue > 0 && total.nonInteractive > 0 && total.visitors > 0);
  });
});

describe('createRandom', () => {
  it('repeats a sequence per seed and keeps int() within its inclusive bounds', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const first = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.next()),
      first,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c.next()),
      first,
    );
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(a.int(1, 3));
    assert.deepEqual([...seen].sort(), [1, 2, 3]);
    assert.match(a.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(createRandom(2 ** 32 + 1).next(), createRandom(1).next());
  });
});

describe('DueHeap', () => {
  it('pops in time order through pushes, pops and replaceTop', () => {
    const random = createRandom(5);
    const heap = new DueHeap<{ at: number }>();
    const popped: number[] = [];
    for (let i = 0; i < 5000; i++) heap.push({ at: random.int(0, 1000) });
    while (heap.size > 0) {
      const top = heap.peek()!;
      popped.push(top.at);
      // Like a session that goes on: due again later, or done.
      if (random.chance(0.7)) heap.replaceTop({ at: top.at + random.int(0, 50) });
      else heap.pop();
      if (random.chance(0.2)) heap.push({ at: top.at + random.int(0, 100) });
    }
    assert.ok(popped.length > 10_000);
    for (let i = 1; i < popped.length; i++) assert.ok(popped[i]! >= popped[i - 1]!, `out of order at ${i}`);
    assert.equal(heap.pop(), undefined);
  });
});

function countKind(kind: GeneratedRequest['kind'], isBot: boolean): number {
  return requests.filter((request) => request.kind === kind && request.isBot === isBot).length;
}
