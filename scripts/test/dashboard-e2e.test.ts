import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Browser, chromium, type Page, type Request } from 'playwright-core';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { CHROMIUM_ARGS, ensureChromium } from '../src/stack/index.js';
import { logger } from './support/service.js';

const HOUR = 3600_000;
const DAY = 86_400_000;
const TZ = 'Europe/Berlin';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../docs/screenshots');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
];
const COUNTRIES = ['DE', 'US', 'FR'];

/** The calendar date of an instant in the site's zone. */
const dateIn = (ms: number) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: TZ,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);

interface Aggregate {
  authoritative_until: string | null;
  results: Record<string, { value: number; comparison_value?: number; change?: number | null }>;
}

describe('the dashboard in a real browser against the running service', () => {
  let service: Embedded;
  let browser: Browser;
  let siteId: string;
  let key: string;
  let cleanup: () => Promise<void>;
  const currentHour = Math.floor(Date.now() / HOUR) * HOUR;
  let sentPageviews = 0;

  async function api<T>(pathAndQuery: string, token = key): Promise<T> {
    const response = await fetch(`${service.url}${pathAndQuery}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, `${pathAndQuery}: ${await response.clone().text()}`);
    return (await response.json()) as T;
  }

  async function admin(method: string, route: string, body: unknown) {
    const response = await fetch(`${service.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${service.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.status < 300, `${route}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as Record<string, unknown>;
  }

  async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + ms;
    let last: unknown;
    while (Date.now() < deadline) {
      const value = await probe().catch((error: unknown) => {
        last = error;
        return undefined;
      });
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`${what}: not reached within ${ms} ms (${String(last ?? '')})`);
  }

  /** One visitor (its own address and browser) with some pageviews and maybe a signup. */
  async function visit(i: number, at: number, pages: string[], extra: Record<string, unknown> = {}) {
    const events: Record<string, unknown>[] = pages.map((page, k) => ({
      site_id: siteId,
      name: 'pageview',
      url: `https://dash.example${page}`,
      timestamp: new Date(at + k * 60_000).toISOString(),
      ...extra,
    }));
    if (i % 4 === 0) {
      events.push({
        site_id: siteId,
        name: 'signup',
        url: `https://dash.example${pages.at(-1)}`,
        props: { plan: i % 8 === 0 ? 'pro' : 'free' },
        timestamp: new Date(at + pages.length * 60_000).toISOString(),
      });
    }
    const response = await fetch(`${service.url}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': AGENTS[i % AGENTS.length]!,
        'x-forwarded-for': `203.0.113.${i + 1}`,
        'cf-ipcountry': COUNTRIES[i % COUNTRIES.length]!,
      },
      body: JSON.stringify({ events }),
    });
    assert.equal(response.status, 202, await response.text());
    sentPageviews += pages.length;
  }

  before(
    async () => {
      const stack = await testStack('dashboard-e2e', { COUNTRY_HEADER: 'cf-ipcountry' });
      cleanup = stack.cleanup;
      service = await startEmbedded(stack.config, logger);
      siteId = String(
        (await admin('POST', '/v1/admin/sites', { domain: 'dash.example', timezone: TZ })).site_id,
      );
      await admin('POST', '/v1/admin/sites', { domain: 'other.example', timezone: 'UTC' });
      key = String((await admin('POST', '/v1/admin/keys', { sites: [siteId], scope: 'read' })).key);

      // Past hours (committed by the batch below) and the current hour (live).
      const hoursBack = [26, 25, 5, 3, 2, 1];
      for (let i = 0; i < 30; i++) {
        const hour = currentHour - hoursBack[i % hoursBack.length]! * HOUR;
        const pages = ['/', ...(i % 3 === 0 ? ['/pricing'] : []), ...(i % 5 === 0 ? ['/docs'] : [])];
        const referrer = i % 2 ? { referrer: 'https://www.google.com/search?q=analytics' } : {};
        const utm = i % 5 === 0 ? '?utm_source=newsletter&utm_medium=email' : '';
        await visit(
          i,
          hour + 5 * 60_000 + i * 20_000,
          pages.map((p, k) => (k === 0 ? `${p}${utm}` : p)),
          referrer,
        );
      }
      for (let i = 30; i < 34; i++) await visit(i, Date.now() - 60_000, ['/', '/pricing']);

      const range = `from=${new Date(currentHour - 30 * HOUR).toISOString()}&to=${new Date(currentHour + HOUR).toISOString()}`;
      await until('every pageview in the speed layer', 60_000, async () => {
        const a = await api<Aggregate>(`/v1/sites/${siteId}/aggregate?metrics=pageviews&${range}`);
        return a.results.pageviews!.value === sentPageviews ? true : undefined;
      });
      // The batch commits every closed hour: the current one stays live.
      await admin('POST', '/v1/admin/reprocess', {
        from: new Date(currentHour - 27 * HOUR).toISOString(),
        to: new Date(currentHour).toISOString(),
      });
      await until('the batch watermark at the current hour', 180_000, async () => {
        const a = await api<Aggregate>(`/v1/sites/${siteId}/aggregate?metrics=visits&${range}`);
        const until = a.authoritative_until ? Date.parse(a.authoritative_until) : 0;
        return until >= currentHour ? true : undefined;
      });

      const executablePath = await ensureChromium((line) => console.log(`[chromium] ${line}`));
      browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout: 30_000 });
      await mkdir(SCREENSHOTS, { recursive: true });
    },
    { timeout: 400_000 },
  );
  after(async () => {
    await browser?.close();
    await service?.close();
    await cleanup?.();
  });

  /** A tab that records every request it makes (to check they stay on this origin). */
  async function open(viewport: { width: number; height: number }) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const requests: Request[] = [];
    page.on('request', (r) => requests.push(r));
    return { context, page, requests };
  }

  const lastRequest = (requests: Request[], route: string) =>
    [...requests].reverse().find((r) => new URL(r.url()).pathname.endsWith(route));

  /** Waits for the cards to show the answer to the latest aggregate request, and returns that answer. */
  async function cardsMatchApi(
    page: Page,
    requests: Request[],
  ): Promise<{ query: URLSearchParams; answer: Aggregate }> {
    return until('cards equal to the API', 20_000, async () => {
      const request = lastRequest(requests, '/aggregate');
      if (!request) return undefined;
      const url = new URL(request.url());
      // The API's answer to the page's own request: asking again could count events that arrived
      // since (live hours), which the page has no reason to show yet.
      const response = await request.response();
      if (!response?.ok()) return undefined;
      const answer = (await response.json()) as Aggregate;
      const shown = await page.$$eval('.card', (cards) =>
        cards.map((c) => ({
          metric: c.getAttribute('data-metric'),
          value: c.getAttribute('data-value'),
          text: c.querySelector('.card-value')?.textContent ?? '',
          disabled: (c as HTMLButtonElement).disabled,
        })),
      );
      for (const card of shown) {
        const expected = answer.results[card.metric!];
        if (!expected) {
          if (!card.disabled) return undefined;
          continue;
        }
        if (Number(card.value) !== expected.value || card.value === null) return undefined;
        if (
          ['visitors', 'visits', 'pageviews'].includes(card.metric!) &&
          card.text !== String(expected.value)
        )
          return undefined;
        if (card.metric === 'bounce_rate' && card.text !== `${expected.value}%`) return undefined;
      }
      return { query: url.searchParams, answer };
    });
  }

  it('signs in, shows the API’s numbers, changes the range, filters, opens realtime; desktop and phone', async () => {
    const { context, page, requests } = await open(DESKTOP);
    const firstLoad: Promise<number>[] = [];
    page.on('requestfinished', (r) => {
      firstLoad.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
    });

    await page.goto(`${service.url}/`);
    await page.getByLabel('API key').fill('sl_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown, revoked or expired' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sign-in-desktop.png') });

    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Default: the last 7 days in the site's zone, the key's one site picked.
    const today = dateIn(Date.now());
    const week = await cardsMatchApi(page, requests);
    assert.equal(week.query.get('from'), addDays(today, -6));
    assert.equal(week.query.get('to'), addDays(today, 1));
    assert.equal(week.answer.results.pageviews!.value, sentPageviews);
    assert.ok(week.answer.results.visits!.value > 0, 'the batch hours have visits');
    assert.deepEqual(
      await page.getByLabel('Site').locator('option').allTextContents(),
      ['dash.example'],
      'the picker lists the sites the key reads, no other',
    );
    assert.match(new URL(page.url()).search, new RegExp(`site=${siteId}`));

    // Freshness line: the watermark in the site's zone.
    const watermark = Date.parse(week.answer.authoritative_until!);
    const hh = new Intl.DateTimeFormat('en-GB', {
      timeZone: TZ,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(watermark);
    assert.match(
      String(await page.getByTestId('freshness').textContent()),
      new RegExp(`Authoritative through .*${hh}, live since`),
    );

    // The chart: day buckets, the last day (today) live, the others authoritative.
    const series = await until('the chart', 20_000, async () => {
      const live = await page.getByTestId('main-chart').getAttribute('data-live-from');
      return live === null || !(await page.locator('.chart-plot canvas').count()) ? undefined : Number(live);
    });
    assert.equal(series, 6, 'seven day buckets, the seventh (today) not yet authoritative');

    // The pages panel equals the API's breakdown.
    const pages = await until('the pages panel', 20_000, async () => {
      const rows = await page.$$eval('[data-panel="pages"] tbody tr', (trs) =>
        trs.map((tr) => [
          tr.getAttribute('data-value'),
          tr.querySelector('[data-metric="visitors"]')?.textContent,
        ]),
      );
      return rows.length ? rows : undefined;
    });
    const breakdown = await api<{ results: { value: string; visitors: number }[] }>(
      `/v1/sites/${siteId}/breakdown?dimension=page&metrics=visitors,pageviews&from=${addDays(today, -6)}&to=${addDays(today, 1)}&limit=10`,
    );
    assert.deepEqual(
      pages,
      breakdown.results.map((r) => [r.value, String(r.visitors)]),
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'overview-desktop.png'), fullPage: true });

    // Every request of the first load stayed on this origin, and all of it is well under 200 KB.
    const transferred = (await Promise.all(firstLoad)).reduce((a, b) => a + b, 0);
    console.log(`[dashboard] first load, sign-in included: ${transferred} bytes transferred`);
    assert.ok(transferred < 200 * 1024, `${transferred} bytes`);
    const origins = new Set(requests.map((r) => new URL(r.url()).origin));
    assert.deepEqual([...origins], [new URL(service.url).origin]);

    // Today by hour: the dashed part starts at the first hour from authoritative_until on.
    await page.getByTestId('range').selectOption('today');
    const hours = await until('today by hour', 20_000, async () => {
      const request = lastRequest(requests, '/timeseries');
      const url = request && new URL(request.url());
      if (url?.searchParams.get('from') !== today || url.searchParams.get('interval') !== 'hour')
        return undefined;
      const answer = await api<{ authoritative_until: string; results: { time: string }[] }>(
        `${url.pathname}${url.search}`,
      );
      const shown = await page.getByTestId('main-chart').getAttribute('data-live-from');
      const expected = answer.results.findIndex(
        (r) => Date.parse(r.time) >= Date.parse(answer.authoritative_until),
      );
      return shown === String(expected) ? { expected, buckets: answer.results.length } : undefined;
    });
    assert.ok(hours.expected > 0 || dateIn(currentHour - HOUR) !== today, JSON.stringify(hours));
    assert.ok(hours.buckets >= 23 && hours.buckets <= 25, 'hour buckets of one local day');
    await cardsMatchApi(page, requests);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'today-desktop.png') });

    // Range: yesterday, compared with the day before; the numbers follow.
    await page.getByTestId('range').selectOption('yesterday');
    await page.getByLabel('Compare with the previous period').check();
    const yesterday = await until('yesterday with comparison', 20_000, async () => {
      const r = await cardsMatchApi(page, requests);
      return r.query.get('from') === addDays(today, -1) && r.query.get('compare') ? r : undefined;
    });
    assert.equal(yesterday.query.get('to'), today);
    assert.equal(
      await page.locator('.card[data-metric="visitors"] .change').count(),
      1,
      'the visitors card shows the change against the day before',
    );
    assert.match(page.url(), /range=yesterday/);
    assert.match(page.url(), /compare=1/);

    // Hovering the chart tells the value of the bucket and of the same bucket the day before.
    await page.locator('.chart-plot canvas').waitFor();
    // The chart is drawn again once the new range's series arrive: hover until the tip shows the
    // day before's value next to the bucket's (a tip from the previous range has none).
    const plot = page.locator('.chart-plot .u-over');
    const tip = page.locator('.chart-tip');
    let step = 0;
    const tipText = await until('the chart tooltip with the comparison value', 20_000, async () => {
      const box = await plot.boundingBox();
      if (!box) return undefined;
      step += 1;
      await plot.hover({ position: { x: box.width * (0.45 + (step % 5) * 0.01), y: box.height / 2 } });
      const text = (await tip.isVisible()) ? String(await tip.textContent()) : '';
      return /Unique visitors: \d+.*\d{2}:00: \d+/.test(text) ? text : undefined;
    });
    assert.match(
      tipText,
      new RegExp(`^${Number(addDays(today, -1).slice(8, 10))} `),
      'a bucket of yesterday',
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'comparison-desktop.png') });

    // Back to 7 days, then a click on a page filters the whole dashboard: keyboard only.
    await page.getByTestId('range').selectOption('7d');
    await page.getByLabel('Compare with the previous period').uncheck();
    await cardsMatchApi(page, requests);
    const pricing = page.locator('[data-panel="pages"] tr[data-value="/pricing"] button');
    await pricing.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('filter-chip').filter({ hasText: 'Page is /pricing' }).waitFor();
    assert.deepEqual(JSON.parse(new URL(page.url()).searchParams.get('filters')!), [
      ['is', 'page', ['/pricing']],
    ]);
    const filtered = await until('filtered cards', 20_000, async () => {
      const r = await cardsMatchApi(page, requests);
      return r.query.get('filters') ? r : undefined;
    });
    const expectedPricing = breakdown.results.find((r) => r.value === '/pricing')!.visitors;
    assert.equal(filtered.answer.results.visitors!.value, expectedPricing);
    assert.ok(
      await page.locator('.card[data-metric="visit_duration"]').isDisabled(),
      'visit duration is not kept per page: its card says so',
    );
    await page.locator('[data-panel="sources"]').getByRole('button', { name: 'Remove the filter' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'filtered-desktop.png'), fullPage: true });

    // The view is in the URL: a shared link shows the same filter in a new tab.
    // The key travels in the fragment: sessionStorage is per tab, and a fragment never reaches a server.
    const shared = await context.newPage();
    await shared.goto(`${page.url()}#key=${key}`);
    await shared.getByTestId('filter-chip').filter({ hasText: 'Page is /pricing' }).waitFor();
    await shared.close();

    await page.getByRole('button', { name: 'Remove filter: Page is /pricing' }).click();
    assert.equal(await page.getByTestId('filter-chip').count(), 0);
    const unfiltered = await until('unfiltered cards', 20_000, async () => {
      const r = await cardsMatchApi(page, requests);
      return r.query.get('filters') ? undefined : r;
    });
    assert.equal(unfiltered.answer.results.visitors!.value, week.answer.results.visitors!.value);

    // Realtime: the current visitors and the last 30 minutes, as the API answers them.
    for (let i = 40; i < 43; i++) await visit(i, Date.now(), ['/']);
    await page.getByTestId('open-realtime').click();
    await until('realtime equal to the API', 40_000, async () => {
      const shown = await page.getByTestId('current-visitors').getAttribute('data-value');
      const bars = await page.$$eval('[data-testid="realtime-bars"] li', (lis) =>
        lis.map((li) => Number(li.getAttribute('data-pageviews'))),
      );
      const live = await api<{ current_visitors: number; minutes: { pageviews: number }[] }>(
        `/v1/sites/${siteId}/realtime`,
      );
      return Number(shown) === live.current_visitors &&
        live.current_visitors > 0 &&
        bars.join() === live.minutes.map((m) => m.pageviews).join()
        ? true
        : undefined;
    });
    assert.match(page.url(), /view=realtime/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'realtime-desktop.png') });
    await context.close();

    // Phone-sized, opened from a shared read-only link (the key in the fragment, never sent).
    const phone = await open(PHONE);
    await phone.page.goto(`${service.url}/?site=${siteId}&range=7d#key=${key}`);
    await cardsMatchApi(phone.page, phone.requests);
    assert.equal(new URL(phone.page.url()).hash, '', 'the key is cut from the address');
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling on a phone (${width} px)`);
    await phone.page.locator('[data-panel="pages"] tbody tr').first().waitFor();
    await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'overview-phone.png') });
    await phone.page.getByTestId('open-realtime').click();
    await phone.page.getByTestId('current-visitors').waitFor();
    await phone.page.screenshot({ path: path.join(SCREENSHOTS, 'realtime-phone.png') });
    await phone.context.close();
  });

  it('serves the page with no-cache and the hashed assets as immutable, gzipped', async () => {
    const index = await fetch(`${service.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
    const html = await index.text();
    const assets = [...html.matchAll(/\/assets\/[\w-]+\.(?:js|css)/g)].map((m) => m[0]);
    assert.equal(assets.length, 2, html);
    for (const asset of assets) {
      const response = await fetch(`${service.url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(response.headers.get('content-encoding'), 'gzip');
      const again = await fetch(`${service.url}${asset}`, {
        headers: { 'if-none-match': response.headers.get('etag')! },
      });
      assert.equal(again.status, 304);
    }
    const missing = await fetch(`${service.url}/assets/main-OLD.js`);
    assert.equal(missing.status, 404);
  });

  it('lists only the key’s sites on GET /v1/sites, every site for the admin token', async () => {
    const mine = await api<{ sites: { site_id: string; timezone: string }[] }>('/v1/sites');
    assert.deepEqual(mine.sites, [{ site_id: siteId, domain: 'dash.example', timezone: TZ }]);
    const all = await api<{ sites: unknown[] }>('/v1/sites', service.adminToken);
    assert.equal(all.sites.length, 2);
    const anonymous = await fetch(`${service.url}/v1/sites`);
    assert.equal(anonymous.status, 401);
  });
});
