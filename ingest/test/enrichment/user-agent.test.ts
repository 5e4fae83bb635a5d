import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyUserAgent, createUserAgentClassifier } from '../../src/enrichment/user-agent.js';

const ua = {
  windowsChrome:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  windowsEdge:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.2849.68',
  macSafari:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  linuxFirefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0',
  chromebook:
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  iPhone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  iPad: 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  androidPhone:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36',
  androidTablet:
    'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  samsung:
    'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  smartTv:
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
  iPadDesktopChrome:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/130.0.6723.90 Version/17.0 Safari/605.1.15',
  oldBrave:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) brave/0.7.12 Chrome/47.0.2526.110 Brave/0.36.7 Safari/537.36',
};

describe('classifyUserAgent', () => {
  // [user agent, browser, major, os, device]
  const cases: [keyof typeof ua, string, string, string, string][] = [
    ['windowsChrome', 'Chrome', '130', 'Windows', 'desktop'],
    ['windowsEdge', 'Edge', '130', 'Windows', 'desktop'],
    ['macSafari', 'Safari', '17', 'Mac OS', 'desktop'],
    ['linuxFirefox', 'Firefox', '131', 'Linux', 'desktop'],
    ['chromebook', 'Chrome', '130', 'Chrome OS', 'desktop'],
    ['iPhone', 'Mobile Safari', '17', 'iOS', 'mobile'],
    ['iPad', 'Mobile Safari', '17', 'iOS', 'tablet'],
    ['androidPhone', 'Chrome', '130', 'Android', 'mobile'],
    ['androidTablet', 'Chrome', '130', 'Android', 'tablet'],
    ['samsung', 'Samsung Internet', '26', 'Android', 'mobile'],
    ['smartTv', 'Samsung Internet', '4', 'Tizen', 'other'],
    ['iPadDesktopChrome', 'Chrome', '130', 'iOS', 'tablet'],
    ['oldBrave', 'Brave', '0', 'Windows', 'desktop'],
  ];
  for (const [name, browser, major, os, device] of cases) {
    it(`${name}: ${browser} ${major} on ${os}, ${device}`, () => {
      const facts = classifyUserAgent(ua[name]);
      assert.deepEqual(
        { browser: facts.browser, major: facts.browser_version, os: facts.os, device: facts.device },
        { browser, major, os, device },
      );
      assert.equal(facts.looksAutomated, false);
      assert.equal(facts.namesBrowser, true);
    });
  }

  it('gives empty fields and "other" for a string that names nothing', () => {
    const facts = classifyUserAgent('x');
    assert.deepEqual([facts.browser, facts.browser_version, facts.os, facts.device], ['', '', '', 'other']);
    assert.equal(facts.namesBrowser, false);
  });

  it('keeps browser and OS for a headless browser, and marks it automated', () => {
    const facts = classifyUserAgent(
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    );
    assert.equal(facts.looksAutomated, true);
    assert.equal(facts.os, 'Linux');
  });
});

describe('createUserAgentClassifier', () => {
  it('returns the same frozen object for a repeated user agent', () => {
    const classifier = createUserAgentClassifier(10);
    const first = classifier.classify(ua.iPhone);
    assert.equal(classifier.classify(ua.iPhone), first);
    assert.ok(Object.isFrozen(first));
    assert.equal(classifier.cachedCount, 1);
  });

  it('holds at most cacheSize user agents and still answers for evicted ones', () => {
    const classifier = createUserAgentClassifier(3);
    const first = classifier.classify(ua.windowsChrome);
    for (const name of ['macSafari', 'linuxFirefox', 'iPhone', 'iPad'] as const)
      classifier.classify(ua[name]);
    assert.equal(classifier.cachedCount, 3);
    const again = classifier.classify(ua.windowsChrome);
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });

  it('does not cache oversized strings, so a hostile client cannot fill memory', () => {
    const classifier = createUserAgentClassifier(10);
    const huge = `${ua.windowsChrome} ${'x'.repeat(1000)}`;
    assert.equal(classifier.classify(huge).browser, 'Chrome');
    assert.equal(classifier.cachedCount, 0);
  });
});
