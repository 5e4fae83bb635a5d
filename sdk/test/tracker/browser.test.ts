import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
// The sdk cannot depend on @sightline/scripts (scripts depends on the sdk), so the test reaches
// for the launcher helper by path.
import { CHROMIUM_ARGS, ensureChromium } from '../../../scripts/src/stack/chromium.js';
import {
  type Delivery,
  type StandInCollector,
  type StandInSite,
  startStandInCollector,
  startStandInSite,
  uniqueSite,
  waitFor,
} from './stand-in.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** How long "nothing else arrives" is watched for, after the last thing that should have. */
const SETTLE_MS = 300;
const TEST = { timeout: 30_000 };

describe('the browser tracker in headless Chromium', () => {
  let browser: Browser;
  let collector: StandInCollector;
  let site: StandInSite;
  const contexts: BrowserContext[] = [];

  before(
    async () => {
      const executablePath = await ensureChromium((line) => console.log(`[chromium] ${line}`));
      collector = await startStandInCollector();
      site = await startStandInSite(collector.url);
      // launch() gives every run a fresh temporary profile of its own (and refuses --user-data-dir).
      browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout: 30_000 });
    },
    { timeout: 300_000 },
  );

  after(async () => {
    await browser?.close();
    await collector?.close();
    await site?.close();
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    assert.deepEqual(collector.contractViolations, [], 'every body must pass the real event schema');
    assert.equal(collector.preflights, 0, 'text/plain POSTs must not need a CORS preflight');
  });

  async function openPage(initScript?: () => void): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(10_000);
    if (initScript) await context.addInitScript(initScript);
    return context.newPage();
  }

  function named(siteId: string, name: string): Delivery[] {
    return collector.forSite(siteId).filter((d) => d.body.name === name);
  }

  function waitForEvents(siteId: string, name: string, count = 1, timeoutMs = 10_000): Promise<Delivery[]> {
    return waitFor(
      `${count} × ${name} from ${siteId}`,
      () => named(siteId, name).length >= count && named(siteId, name),
      timeoutMs,
      () => collector.forSite(siteId).map((d) => [d.body.name, d.body.url, d.status]),
    );
  }

  /** Sends a marker event and waits for it: whatever the page sent before it has had time to arrive. */
  async function drain(page: Page, siteId: string): Promise<void> {
    await page.evaluate(() => window.sightline('drain'));
    await waitForEvents(siteId, 'drain');
    await sleep(SETTLE_MS);
  }

  it('sends a pageview on load with the url and the referrer, over fetch', TEST, async () => {
    const id = uniqueSite('load');
    const second = site.page('/load/second', { site: id });
    const first = site.page('/load/first', {
      site: id,
      body: `<a id="next" href="${second}?from=first">next</a>`,
    });
    const page = await openPage();

    await page.goto(`${first}?utm_source=news`);
    const [landing] = await waitForEvents(id, 'pageview');
    await page.click('#next');
    const views = await waitForEvents(id, 'pageview', 2);

    assert.equal(landing!.body.url, `${first}?utm_source=news`);
    assert.equal('referrer' in landing!.body, false, 'no referrer: the key is left out');
    const next = views.find((d) => d.body.url === `${second}?from=first`);
    assert.ok(next, 'the pageview of the second page');
    assert.equal(next.body.referrer, `${first}?utm_source=news`);
    for (const view of views) {
      assert.match(view.body.event_id, UUID_V4);
      assert.ok(Math.abs(Number(view.body.timestamp) - Date.now()) < 60_000);
      assert.equal(view.status, 202);
      assert.equal(view.fetchMode, 'cors');
      assert.equal(view.contentType, 'text/plain');
      assert.equal(view.origin, site.url);
    }
    assert.notEqual(views[0]!.body.event_id, views[1]!.body.event_id);
  });

  it('counts single-page-app navigations only when the path changes', TEST, async () => {
    const id = uniqueSite('spa');
    const app = site.page('/app', { site: id });
    const page = await openPage();

    await page.goto(app);
    await waitForEvents(id, 'pageview');
    await page.evaluate(() => history.pushState({}, '', '/app/settings'));
    await waitForEvents(id, 'pageview', 2);
    await page.evaluate(() => {
      history.replaceState({}, '', '/app/settings?tab=2'); // same path: not a new page
      history.pushState({}, '', '/app/settings?tab=3');
      location.hash = '#section'; // no data-hash: a hash is not a page
    });
    await page.evaluate(() => history.back());
    await page.evaluate(() => history.back()); // popstate to /app/settings?tab=2: same path again
    await page.evaluate(() => history.back()); // popstate to /app: a page again
    await waitForEvents(id, 'pageview', 3);
    await page.evaluate(() => history.replaceState({}, '', '/app/billing'));
    await waitForEvents(id, 'pageview', 4);
    await drain(page, id);

    const views = named(id, 'pageview');
    assert.deepEqual(
      views.map((d) => new URL(d.body.url as string).pathname),
      ['/app', '/app/settings', '/app', '/app/billing'],
    );
    // Each client-side navigation names the page it came from, not the first load's referrer.
    assert.deepEqual(
      views.map((d) => (d.body.referrer ? new URL(d.body.referrer as string).pathname : null)),
      [null, '/app', '/app/settings', '/app'],
    );
  });

  it('counts hash routes as pages with data-hash', TEST, async () => {
    const id = uniqueSite('hash');
    const app = site.page('/mail', { site: id, attributes: 'data-hash' });
    const page = await openPage();

    await page.goto(`${app}#/inbox`);
    await waitForEvents(id, 'pageview');
    await page.evaluate(() => {
      location.hash = '#/sent';
    });
    const views = await waitForEvents(id, 'pageview', 2);
    await drain(page, id);

    assert.deepEqual(views.map((d) => new URL(d.body.url as string).hash).sort(), ['#/inbox', '#/sent']);
    assert.equal(named(id, 'pageview').length, 2);
  });

  it('sends custom events with props and revenue, and writes no cookie or storage', TEST, async () => {
    const id = uniqueSite('custom');
    const page = await openPage();

    await page.goto(site.page('/pricing', { site: id }));
    await waitForEvents(id, 'pageview');
    await page.evaluate(() => {
      window.sightline('signup', { props: { plan: 'pro' }, revenue: { amount: 9.99, currency: 'EUR' } });
      window.sightline('scrolled', { props: { depth: 75, sticky: true }, interactive: false });
    });
    const [signup] = await waitForEvents(id, 'signup');
    const [scrolled] = await waitForEvents(id, 'scrolled');

    assert.deepEqual(signup!.body.props, { plan: 'pro' });
    assert.deepEqual(signup!.body.revenue, { amount: 9.99, currency: 'EUR' });
    assert.equal('interactive' in signup!.body, false);
    assert.deepEqual(scrolled!.body.props, { depth: 75, sticky: true });
    assert.equal(scrolled!.body.interactive, false);
    assert.equal(signup!.status, 202);
    const pageview = named(id, 'pageview')[0]!.body;
    assert.equal('props' in pageview || 'revenue' in pageview, false);

    const context = page.context();
    assert.deepEqual(await context.cookies(), []);
    assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
  });

  it('replays calls queued by the stub before the script loaded', TEST, async () => {
    const id = uniqueSite('queue');
    const stub = `<script>
      window.sightline = window.sightline || function () { (window.sightline.q = window.sightline.q || []).push(arguments) };
      sightline('early', { props: { n: 1 } });
      sightline('earlier-than-load');
    </script>`;
    const page = await openPage();

    await page.goto(site.page('/queued', { site: id, head: stub }));
    const [early] = await waitForEvents(id, 'early');
    await waitForEvents(id, 'earlier-than-load');
    await waitForEvents(id, 'pageview');

    assert.deepEqual(early!.body.props, { n: 1 });
    assert.equal(await page.evaluate(() => 'q' in window.sightline), false, 'the stub is replaced');
  });

  it('tracks outbound links and file downloads, and nothing for other links', TEST, async () => {
    const id = uniqueSite('links');
    const landing = `${collector.url}/landing`;
    // The page keeps every click but the last one on the page, so that each can be clicked.
    const head = `<script>
      for (const type of ['click', 'auxclick']) {
        document.addEventListener(type, (e) => { if (!e.target.closest('[data-go]')) e.preventDefault(); });
      }
    </script>`;
    const body = `
      <a id="internal" href="/links/about">about</a>
      <a id="mail" href="mailto:sales@example.com">mail</a>
      <a id="pdf" href="/files/report.PDF?v=2"><span id="pdf-label">report</span></a>
      <a id="export" href="/export?id=7" download>export</a>
      <a id="away" href="${landing}?via=middle">away (middle click)</a>
      <a id="leave" href="${landing}" data-go>leave</a>`;
    const page = await openPage();

    await page.goto(
      site.page('/links', { site: id, head, body, attributes: 'data-outbound data-downloads' }),
    );
    await waitForEvents(id, 'pageview');
    await page.click('#internal');
    await page.click('#mail');
    await page.click('#pdf-label');
    await page.click('#export');
    await page.click('#away', { button: 'middle' });
    await page.click('#leave');
    await page.waitForURL(landing);
    await waitForEvents(id, 'outbound_click', 2);
    await sleep(SETTLE_MS);

    const clicks = collector.forSite(id).filter((d) => d.body.name !== 'pageview');
    assert.deepEqual(clicks.map((d) => `${d.body.name} ${JSON.stringify(d.body.props)}`).sort(), [
      `file_download {"url":"${site.url}/export?id=7"}`,
      `file_download {"url":"${site.url}/files/report.PDF?v=2"}`,
      `outbound_click {"url":"${landing}"}`,
      `outbound_click {"url":"${landing}?via=middle"}`,
    ]);
  });

  it('sends an event fired while the page unloads with sendBeacon', TEST, async () => {
    const id = uniqueSite('exit');
    // Registered before the tracker's own listener, so it runs first: the tracker cannot rely on
    // having seen pagehide itself.
    const head = `<script>
      addEventListener('pagehide', () => window.sightline('exit', { props: { at: 'pagehide' } }));
    </script>`;
    const page = await openPage();

    await page.goto(site.page('/leaving', { site: id, head }));
    await waitForEvents(id, 'pageview');
    await page.goto(`${collector.url}/landing`);
    const [exit] = await waitForEvents(id, 'exit');

    assert.equal(exit!.fetchMode, 'no-cors', 'a beacon, not a fetch');
    assert.match(exit!.contentType, /^text\/plain/);
    assert.deepEqual(exit!.body.props, { at: 'pagehide' });
    assert.equal(named(id, 'pageview')[0]!.fetchMode, 'cors');
  });

  it('hands a retry still waiting for its timer to sendBeacon when the page goes away', TEST, async () => {
    const id = uniqueSite('exit-retry');
    const page = await openPage();

    await page.goto(site.page('/checkout', { site: id }));
    await waitForEvents(id, 'pageview');
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/events') && r.status() === 503);
    await page.evaluate(() => window.sightline('fail-once:purchase'));
    await refused;
    await sleep(50); // the page's response handler schedules the retry (at least 500 ms out)
    await page.goto(`${collector.url}/landing`);
    const attempts = await waitForEvents(id, 'fail-once:purchase', 2);

    assert.deepEqual(
      attempts.map((d) => [d.status, d.fetchMode]),
      [
        [503, 'cors'],
        [202, 'no-cors'],
      ],
    );
    assert.equal(attempts[0]!.body.event_id, attempts[1]!.body.event_id);
  });

  it('retries 5xx with the same event_id and backoff, and gives up after four attempts', TEST, async () => {
    const id = uniqueSite('retry');
    const page = await openPage(() => {
      // Twenty times faster timers, with every delay the tracker asked for kept for the test to read.
      const original = window.setTimeout;
      window.retryDelays = [];
      window.setTimeout = (fn, ms = 0) => {
        window.retryDelays.push(ms);
        return original(fn, ms / 20);
      };
    });

    await page.goto(site.page('/flaky', { site: id }));
    await waitForEvents(id, 'pageview');
    await page.evaluate(() => {
      window.sightline('fail-once:signup');
      window.sightline('fail-always:signup');
      window.sightline('reject:signup');
    });
    const once = await waitForEvents(id, 'fail-once:signup', 2);
    const always = await waitForEvents(id, 'fail-always:signup', 4);
    await drain(page, id);

    assert.deepEqual(
      once.map((d) => d.status),
      [503, 202],
    );
    assert.equal(once[0]!.body.event_id, once[1]!.body.event_id, 'a retry is the same event');
    assert.equal(named(id, 'fail-always:signup').length, 4, 'one attempt and three retries');
    assert.equal(new Set(always.map((d) => d.body.event_id)).size, 1);
    assert.equal(named(id, 'reject:signup').length, 1, 'a 400 is not retried');

    const delays = await page.evaluate(() => window.retryDelays);
    assert.equal(delays.length, 4, 'one retry for fail-once, three for fail-always');
    const sorted = [...delays].sort((a, b) => a - b);
    const [first, second, third] = [sorted.filter((ms) => ms < 1000), sorted.slice(-2, -1), sorted.slice(-1)];
    assert.equal(first.length, 2, `two first retries within 500–1000 ms: ${delays}`);
    assert.ok(second[0]! >= 1000 && second[0]! <= 2000, `second retry within 1–2 s: ${delays}`);
    assert.ok(third[0]! >= 2000 && third[0]! <= 4000, `third retry within 2–4 s: ${delays}`);
  });

  it('makes its own v4 UUIDs where crypto.randomUUID is missing (plain-http sites)', TEST, async () => {
    const id = uniqueSite('uuid');
    const page = await openPage(() => {
      Reflect.deleteProperty(Crypto.prototype, 'randomUUID');
    });

    await page.goto(site.page('/insecure', { site: id }));
    await waitForEvents(id, 'pageview');
    assert.equal(await page.evaluate(() => typeof crypto.randomUUID), 'undefined');
    await page.evaluate(() => {
      for (let i = 0; i < 20; i++) window.sightline('many');
    });
    const many = await waitForEvents(id, 'many', 20);

    for (const d of many) assert.match(d.body.event_id, UUID_V4);
    assert.equal(new Set(many.map((d) => d.body.event_id)).size, 20);
  });

  describe('sends nothing', () => {
    async function assertSilent(siteId: string, page: Page, url: string): Promise<void> {
      const requests: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/v1/events')) requests.push(r.url());
      });
      await page.goto(url);
      await page.waitForFunction(() => typeof window.sightline === 'function', undefined, {
        timeout: 10_000,
      });
      await page.evaluate(() => {
        window.sightline('custom');
        history.pushState({}, '', `${location.pathname}/next`);
      });
      await sleep(SETTLE_MS);
      assert.deepEqual(requests, []);
      assert.deepEqual(collector.forSite(siteId), []);
    }

    it('when Do-Not-Track is on', TEST, async () => {
      const id = uniqueSite('dnt');
      const page = await openPage(() => {
        // A value, not a getter: tsx would wrap a nested function in a __name() the page lacks.
        Object.defineProperty(Navigator.prototype, 'doNotTrack', { value: '1' });
      });
      await assertSilent(id, page, site.page('/dnt', { site: id }));
    });

    it('when the visitor opted out with localStorage.sightline_ignore', TEST, async () => {
      const id = uniqueSite('optout');
      const page = await openPage(() => {
        try {
          localStorage.setItem('sightline_ignore', 'true');
        } catch {
          // about:blank has no storage
        }
      });
      await assertSilent(id, page, site.page('/optout', { site: id }));
    });

    it('on localhost without data-allow-local', TEST, async () => {
      const id = uniqueSite('local');
      const page = await openPage();
      await assertSilent(id, page, site.page('/local', { site: id, local: false }));
    });
  });
});

// What the page.evaluate callbacks touch in the browser: this package compiles without the DOM
// lib, so these module-scoped declarations stand in for it (they exist only in the page).
interface PageWindow {
  sightline: ((name: string, options?: object) => void) & { q?: unknown };
  setTimeout(fn: () => void, ms?: number): number;
  retryDelays: number[];
}
interface PageStorage {
  length: number;
  setItem(key: string, value: string): void;
}
declare const window: PageWindow;
declare const history: { pushState(state: unknown, unused: string, url: string): void } & {
  replaceState(state: unknown, unused: string, url: string): void;
  back(): void;
};
declare const location: { hash: string; pathname: string };
declare const localStorage: PageStorage;
declare const sessionStorage: PageStorage;
declare const crypto: { randomUUID?: unknown };
declare const Crypto: { prototype: object };
declare const Navigator: { prototype: object };
