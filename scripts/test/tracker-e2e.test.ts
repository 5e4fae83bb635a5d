import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { type Browser, chromium } from 'playwright-core';
import { type Embedded, startEmbedded } from '../src/embedded.js';
import { CHROMIUM_ARGS, ensureChromium } from '../src/stack/index.js';
import { createSite, logger } from './support/service.js';

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

describe('the browser tracker against the real collector', () => {
  let service: Embedded;
  let page: Server;
  let pageUrl: string;
  let browser: Browser;
  let siteId: string;
  let cleanup: () => Promise<void>;

  before(
    async () => {
      const stack = await testStack('tracker-e2e');
      cleanup = stack.cleanup;
      service = await startEmbedded(stack.config, logger);
      siteId = await createSite(service, 'tracker-e2e.example');
      // A merchant's page on another origin, including the tracker from the collector.
      page = createServer((request, response) => {
        response.setHeader('content-type', 'text/html');
        response.end(`<!doctype html><html><head><title>shop</title>
          <script>window.sightline=window.sightline||function(){(window.sightline.q=window.sightline.q||[]).push(arguments)}</script>
          <script defer src="${service.url}/t.js" data-site="${siteId}" data-allow-local></script>
          </head><body><a id="next" href="#">next</a> ${request.url}</body></html>`);
      }).listen(0, '127.0.0.1');
      await new Promise((r) => page.once('listening', r));
      pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
      const executablePath = await ensureChromium((line) => console.log(`[chromium] ${line}`));
      browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout: 30_000 });
    },
    { timeout: 300_000 },
  );
  after(async () => {
    await browser?.close();
    page?.close();
    await service?.close();
    await cleanup?.();
  });

  it('records the pageview, a single-page-app navigation, a custom event and an exit beacon in events_raw', async () => {
    const context = await browser.newContext({ userAgent: CHROME, locale: 'de-DE' });
    const tab = await context.newPage();
    await tab.goto(`${pageUrl}/products?utm_source=newsletter&utm_medium=email`, {
      referer: 'https://www.google.com/',
    });
    await tab.waitForFunction(
      () => typeof (window as { sightline?: { q?: unknown } }).sightline === 'function',
    );
    await tab.evaluate(() => history.pushState({}, '', '/products/42'));
    await tab.evaluate(() =>
      (window as unknown as { sightline: (n: string, o: unknown) => void }).sightline('add_to_cart', {
        props: { sku: 'sku-42' },
        revenue: { amount: 12.5, currency: 'EUR' },
      }),
    );
    await tab.evaluate(() =>
      window.addEventListener('pagehide', () =>
        (window as unknown as { sightline: (n: string) => void }).sightline('left_page'),
      ),
    );
    await tab.goto('about:blank');
    await context.close();

    const deadline = Date.now() + 20_000;
    let rows: {
      name: string;
      pathname: string;
      browser: string;
      is_bot: boolean;
      channel: string;
      props: Record<string, string>;
    }[] = [];
    while (Date.now() < deadline) {
      const result = await service.clickhouse.client.query({
        query: `SELECT name, pathname, browser, is_bot, channel, props FROM events_raw WHERE site_id = {site:String} ORDER BY ts`,
        query_params: { site: siteId },
        format: 'JSONEachRow',
      });
      rows = await result.json();
      if (rows.length >= 4) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(
      rows.map((r) => [r.name, r.pathname]),
      [
        ['pageview', '/products'],
        ['pageview', '/products/42'],
        ['add_to_cart', '/products/42'],
        ['left_page', '/products/42'],
      ],
    );
    // The exit beacon is left out: headless Chromium sends sendBeacon with its own HeadlessChrome
    // user agent, whatever the context sets, and that one is rightly flagged as a bot.
    assert.ok(
      rows.slice(0, 3).every((r) => r.browser === 'Chrome' && !r.is_bot),
      JSON.stringify(rows),
    );
    assert.equal(rows[0]!.channel, 'email');
    assert.deepEqual(rows[2]!.props, { sku: 'sku-42' });
  });

  it('serves the tracker gzipped under 2 KB, with an ETag that answers 304', async () => {
    const response = await fetch(`${service.url}/t.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-encoding'), 'gzip');
    const etag = response.headers.get('etag')!;
    const compressed = Number(response.headers.get('content-length'));
    assert.ok(compressed > 0 && compressed < 2048, `${compressed} bytes`);
    const again = await fetch(`${service.url}/t.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });
});
