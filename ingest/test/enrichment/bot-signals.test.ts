import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headersLookAutomated, userAgentLooksAutomated } from '../../src/enrichment/bot-signals.js';

describe('userAgentLooksAutomated', () => {
  const automated: [string, string][] = [
    ['empty', ''],
    ['blank', '   '],
    ['Googlebot', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    [
      'GPTBot',
      'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
    ],
    ['curl', 'curl/8.4.0'],
    ['python-requests', 'python-requests/2.31.0'],
    [
      'HeadlessChrome',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    ],
    [
      'PhantomJS',
      'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
    ],
    [
      'Lighthouse',
      'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse',
    ],
    [
      'GTmetrix',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36 GTmetrix',
    ],
    ['AppleNewsBot', 'AppleNewsBot'],
  ];
  for (const [name, ua] of automated)
    it(`flags ${name}`, () => assert.equal(userAgentLooksAutomated(ua), true));

  const people: [string, string][] = [
    [
      'Chrome',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
    ],
    [
      'the Apple News reader',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 10_0_2 like Mac OS X) AppleWebKit/602.1.50 (KHTML, like Gecko) AppleNews/608.0.1 Version/2.0.1',
    ],
    [
      'an Electron desktop app',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.291 Electron/28.2.7 Safari/537.36',
    ],
    [
      "Instagram's in-app browser",
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 338.0.3.18.87 (iPhone14,5; iOS 17_5; en_US; en; scale=3.00; 1170x2532; 620174420)',
    ],
  ];
  for (const [name, ua] of people)
    it(`does not flag ${name}`, () => assert.equal(userAgentLooksAutomated(ua), false));
});

describe('headersLookAutomated', () => {
  it('flags a missing Accept-Language when the user agent names no browser', () => {
    assert.equal(headersLookAutomated({}, false), true);
    assert.equal(headersLookAutomated({ 'accept-language': ' ' }, false), true);
  });

  it('never flags a recognised browser, whatever the headers', () => {
    assert.equal(headersLookAutomated({}, true), false);
  });

  it('lets a non-browser user agent with Accept-Language pass', () => {
    assert.equal(headersLookAutomated({ 'accept-language': 'de-DE,de;q=0.9' }, false), false);
  });
});
