// The browser tracker, served minified (and lowered to ES2017) as GET /t.js. Plain browser JS with
// no imports: everything here counts against the 2 KB gzipped budget that test/tracker enforces.
//
//   <script defer src="https://collector.example/t.js" data-site="SITE_ID"></script>
//
// Optional attributes: data-api (endpoint URL), data-outbound, data-downloads (or a comma list of
// extensions), data-hash (hash routing), data-allow-local (track localhost and file:).
(() => {
  const w = window;
  const d = document;
  const nav = navigator;
  const loc = location;
  const script = d.currentScript;
  // Loaded twice (a tag manager and the page both add it): the first copy already counts.
  if (!script || w.sightline?.sl) return;

  const data = (name) => script.getAttribute(`data-${name}`);
  const site = data('site');
  const endpoint = data('api') || `${new URL(script.src).origin}/v1/events`;
  const hashRouting = data('hash') != null;
  const outbound = data('outbound') != null;
  const downloads = data('downloads');
  const extensions =
    downloads && downloads !== 'true'
      ? RegExp(`\\.(${downloads.replace(/[\s.]/g, '').replace(/,/g, '|')})$`, 'i')
      : /\.(pdf|xlsx?|docx?|pptx?|od[tsp]|csv|txt|rtf|epub|zip|rar|7z|gz|tgz|bz2|xz|dmg|pkg|exe|msi|apk|iso|mp[34]|m4a|wav|avi|mov|mkv|wmv)$/i;
  const local = /^(localhost|127(\.\d+){3}|\[::1\])$/.test(loc.hostname) || loc.protocol === 'file:';
  const skip = !site || (local && data('allow-local') == null);
  // Retries waiting for their timer: body → whether the collector refused it (5xx, 429).
  const pending = new Map();
  let exiting = false;
  let lastPath;
  // A client-side navigation's referrer is the page it came from: document.referrer stays the one of
  // the first load, and would make every single-page-app navigation look like an arrival from outside.
  let referrer = d.referrer;
  let currentUrl;

  const ignored = () => {
    if (skip || nav.doNotTrack === '1') return true;
    try {
      return localStorage.sightline_ignore === 'true';
    } catch (_) {
      return false; // storage blocked (sandboxed iframe, strict privacy settings): track
    }
  };

  // crypto.randomUUID exists only in secure contexts; plain-http sites get the same v4 layout.
  const uuid = () => {
    const c = w.crypto;
    if (c?.randomUUID) return c.randomUUID();
    return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (x) =>
      (x ^ ((c ? c.getRandomValues(new Uint8Array(1))[0] : Math.random() * 256) & (15 >> (x / 4)))).toString(
        16,
      ),
    );
  };

  // A hidden page may be frozen or discarded at any moment, and only a beacon is sure to leave.
  const beacon = (body) => nav.sendBeacon?.(endpoint, body);

  // Sent from an exit handler, possibly one the page registered before ours (at the window they
  // run in registration order, capture or not): window.event says so.
  const leaving = () =>
    exiting || d.visibilityState === 'hidden' || /^(pagehide|unload|beforeunload)$/.test(w.event?.type);

  // `text/plain` keeps this a simple CORS request: no preflight, and sendBeacon may send it too.
  const send = (body, attempt) => {
    if (leaving() && beacon(body)) return;
    const retry = (refused) => {
      if (attempt > 2) return;
      pending.set(body, refused);
      setTimeout(
        () => pending.delete(body) && send(body, attempt + 1),
        500 * 2 ** attempt * (1 + Math.random()),
      );
    };
    fetch(endpoint, {
      method: 'POST',
      body,
      keepalive: true,
      headers: { 'content-type': 'text/plain' },
    }).then(
      (r) => (r.status > 499 || r.status === 429) && retry(true),
      () => retry(false),
    );
  };

  const track = (name, options) => {
    if (ignored()) return;
    const o = options || {};
    // The event_id is made here, once, so that every retry of this event is the same event.
    send(
      JSON.stringify({
        site_id: site,
        name,
        url: loc.href,
        referrer: referrer || undefined,
        props: o.props,
        revenue: o.revenue,
        interactive: o.interactive,
        event_id: uuid(),
        timestamp: Date.now(),
      }),
      0,
    );
  };

  const pageview = () => {
    const path = loc.pathname + (hashRouting ? loc.hash : '');
    if (path === lastPath) return; // query-only changes and replaceState on the same page
    lastPath = path;
    if (currentUrl) referrer = currentUrl;
    currentUrl = loc.href;
    track('pageview');
  };

  const onClick = (e) => {
    if (e.type === 'auxclick' && e.button !== 1) return; // middle click opens links too
    const a = e.target.closest?.('a[href]');
    if (!a || !/^https?:$/.test(a.protocol)) return;
    const props = { props: { url: a.href } };
    if (downloads != null && (a.hasAttribute('download') || extensions.test(a.pathname))) {
      track('file_download', props);
    } else if (outbound && a.host !== loc.host) {
      track('outbound_click', props);
    }
  };

  const onHide = () => {
    if (!leaving()) return;
    // Only what the collector refused: a fetch that failed without an answer may be a keepalive
    // request that the page's teardown cut off on this side only, and is still being delivered.
    for (const [body, refused] of pending) {
      if (refused) {
        pending.delete(body);
        beacon(body);
      }
    }
  };

  const start = () => {
    const h = history;
    for (const k of ['pushState', 'replaceState']) {
      const original = h[k];
      h[k] = function (...args) {
        const result = original.apply(this, args);
        pageview();
        return result;
      };
    }
    const on = (type, fn) => w.addEventListener(type, fn);
    on('popstate', pageview);
    if (hashRouting) on('hashchange', pageview);
    on('pagehide', () => {
      exiting = true;
      onHide();
    });
    on('pageshow', (e) => {
      exiting = false;
      if (e.persisted) {
        lastPath = undefined; // back/forward cache restore: the visitor sees the page again
        pageview();
      }
    });
    d.addEventListener('visibilitychange', onHide);
    if (outbound || downloads != null) {
      d.addEventListener('click', onClick, true);
      d.addEventListener('auxclick', onClick, true);
    }

    const queued = w.sightline?.q || [];
    w.sightline = track;
    track.sl = 1;
    pageview();
    for (const args of queued) track(...args);
  };

  // A prerendered page (speculation rules) counts once the visitor actually opens it.
  if (d.prerendering) d.addEventListener('prerenderingchange', start, { once: true });
  else start();
})();
