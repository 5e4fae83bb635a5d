import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEnricher } from '../../src/enrichment/index.js';
import { classifyUserAgent, type UserAgentFacts } from '../../src/enrichment/user-agent.js';
import { loadBotSamples, loadBrowserSamples } from './shared-data.js';

// Floors sit a little below what was measured (see the diagnostics), so a parser or pattern
// update that loses ground fails here instead of silently shifting dashboards.
const floors = { botRecall: 0.99, maxFalsePositiveRate: 0.04, familyAgreement: 0.85, majorAgreement: 0.78 };

const bots = loadBotSamples();
const browsers = loadBrowserSamples();
const pageUrl = new URL('https://shop.example/');
const enricher = createEnricher();
const isBot = (ua: string) => enricher.enrich({ userAgent: ua, referrer: '', pageUrl }).is_bot;

/** ua-parser-js 1.x spellings of the same browsers uap-core names otherwise. */
const uapNames: Record<string, string> = {
  'Android Browser': 'Android',
  'Chrome WebView': 'Chrome Mobile WebView',
  IEMobile: 'IE Mobile',
  'Opera Mobi': 'Opera Mobile',
  PaleMoon: 'Pale Moon',
  Silk: 'Amazon Silk',
  UCBrowser: 'UC Browser',
  Yandex: 'Yandex Browser',
  Baidu: 'Baidu Browser',
  HeyTap: 'HeyTap Browser',
  'MIUI Browser': 'MiuiBrowser',
};

/**
 * Our family in uap-core's terms. uap-core gives the mobile builds of some browsers their own
 * family ('Chrome Mobile', 'Firefox iOS', 'Edge Mobile') where ua-parser-js keeps one name and
 * lets the OS and device tell them apart; this only translates, it never looks at the answer.
 */
function asUapFamily({ browser, os, device }: UserAgentFacts): string {
  const handheld = device === 'mobile' || device === 'tablet';
  if (os === 'iOS') {
    if (browser === 'Chrome') return 'Chrome Mobile iOS';
    if (browser === 'Firefox') return 'Firefox iOS';
    if (browser === 'Edge') return 'Edge Mobile';
    if (browser === 'WebKit') return 'Mobile Safari UI/WKWebView';
  }
  if (os === 'Android' || os === 'Firefox OS' || os === 'Windows Phone') {
    if (browser === 'Chrome' && device === 'mobile') return 'Chrome Mobile';
    if (browser === 'Firefox') return 'Firefox Mobile';
    if (browser === 'Edge') return 'Edge Mobile';
  }
  if (browser === 'QQBrowser') return handheld ? 'QQ Browser Mobile' : 'QQ Browser';
  if (browser === 'Safari' && (os === 'BlackBerry' || os === 'RIM Tablet OS')) return 'BlackBerry WebKit';
  return uapNames[browser] ?? browser;
}

const percent = (part: number, whole: number) => `${part}/${whole} = ${((100 * part) / whole).toFixed(2)}%`;

describe('accuracy on shared real-world user agents', () => {
  it('flags real crawlers (recall)', (t) => {
    const missed = bots.filter((sample) => !isBot(sample.ua));
    const flagged = bots.length - missed.length;
    t.diagnostic(`bot recall: ${percent(flagged, bots.length)}`);
    for (const sample of missed) t.diagnostic(`  not flagged: ${sample.ua}`);
    assert.ok(flagged / bots.length >= floors.botRecall);
  });

  it('leaves real browsers alone (false-positive rate)', (t) => {
    const flagged = browsers.filter((sample) => isBot(sample.ua));
    t.diagnostic(`bot false-positive rate: ${percent(flagged.length, browsers.length)}`);
    for (const sample of flagged) t.diagnostic(`  flagged: ${sample.family} ${sample.ua}`);
    assert.ok(flagged.length / browsers.length <= floors.maxFalsePositiveRate);
  });

  it('names browser families and major versions as uap-core does', (t) => {
    let familyMatches = 0;
    let majorMatches = 0;
    let majorMatchesWithinFamily = 0;
    for (const sample of browsers) {
      const facts = classifyUserAgent(sample.ua);
      const family = asUapFamily(facts);
      const familyMatch = family === sample.family;
      const majorMatch = facts.browser_version === (sample.major ?? '');
      if (familyMatch) familyMatches++;
      if (majorMatch) majorMatches++;
      if (familyMatch && majorMatch) majorMatchesWithinFamily++;
      if (!familyMatch)
        t.diagnostic(`  family: ours ${facts.browser} (${family}), uap ${sample.family}: ${sample.ua}`);
    }
    t.diagnostic(`browser family agreement: ${percent(familyMatches, browsers.length)}`);
    t.diagnostic(`major version agreement: ${percent(majorMatches, browsers.length)}`);
    t.diagnostic(
      `major version agreement where the family agrees: ${percent(majorMatchesWithinFamily, familyMatches)}`,
    );
    assert.ok(familyMatches / browsers.length >= floors.familyAgreement);
    assert.ok(majorMatches / browsers.length >= floors.majorAgreement);
  });
});
