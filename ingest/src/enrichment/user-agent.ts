/// <reference path="./ua-parser-js.d.ts" />
import { UAParser } from 'ua-parser-js';
import { userAgentLooksAutomated } from './bot-signals.js';
import { LruCache } from './lru-cache.js';

export type Device = 'desktop' | 'mobile' | 'tablet' | 'bot' | 'other';

/** What the User-Agent string alone says. Frozen, because one object is shared by every hit. */
export interface UserAgentFacts {
  readonly browser: string;
  readonly browser_version: string;
  readonly os: string;
  /** The hardware as parsed; whether the event counts as 'bot' is decided with the headers too. */
  readonly device: Exclude<Device, 'bot'>;
  readonly looksAutomated: boolean;
  /** A browser family was recognised: header signals only apply when it was not. */
  readonly namesBrowser: boolean;
}

/**
 * Spellings of ua-parser-js that would split one browser or OS into two rows of a breakdown:
 * old Brave builds write their own token in lower case, and ChromeOS is "Chromium OS" in 1.x.
 */
const browserNames: Record<string, string> = { brave: 'Brave' };
const osNames: Record<string, string> = { 'Chromium OS': 'Chrome OS' };

/** Systems whose devices are phones when ua-parser-js names no device type. */
const mobileSystems = new Set([
  'Android',
  'iOS',
  'Windows Phone',
  'Windows Mobile',
  'Symbian',
  'BlackBerry',
  'KaiOS',
  'Firefox OS',
]);

/**
 * iPadOS asks for desktop sites with a Mac user agent, which ua-parser-js 1.x takes at its word;
 * the iOS builds of Chrome, Firefox and Edge still add their own iOS-only token to it.
 */
const iosBrowserToken = /\b(?:CriOS|FxiOS|EdgiOS)\//;

export function classifyUserAgent(userAgent: string): UserAgentFacts {
  const parsed = new UAParser(userAgent).getResult();
  const browser = parsed.browser.name ? (browserNames[parsed.browser.name] ?? parsed.browser.name) : '';
  let os = parsed.os.name ? (osNames[parsed.os.name] ?? parsed.os.name) : '';
  let deviceType = parsed.device.type;
  if (os === 'Mac OS' && iosBrowserToken.test(userAgent)) {
    os = 'iOS';
    deviceType = 'tablet';
  }
  return Object.freeze({
    browser,
    browser_version: parsed.browser.major ?? '',
    os,
    device: deviceOf(deviceType, os, browser),
    looksAutomated: userAgentLooksAutomated(userAgent),
    namesBrowser: browser !== '',
  });
}

function deviceOf(type: string | undefined, os: string, browser: string): UserAgentFacts['device'] {
  if (type === 'mobile' || type === 'tablet') return type;
  // smarttv, console, wearable, embedded, xr: too few to break down separately.
  if (type !== undefined) return 'other';
  if (mobileSystems.has(os)) return 'mobile';
  // ua-parser-js leaves the type empty for desktops; a browser that names no mobile system
  // and no device is a desktop one. Safari on iPadOS in desktop mode lands here too: its user
  // agent is a Mac's to the letter.
  if (os !== '' || browser !== '') return 'desktop';
  return 'other';
}

/**
 * Longer strings are classified but not cached: real ones stay well below this, and a bound on
 * the key keeps the cache's memory bounded (capacity × 512 chars) whatever clients send.
 */
const maxCachedLength = 512;

export interface UserAgentClassifier {
  classify(userAgent: string): UserAgentFacts;
  readonly cachedCount: number;
}

/**
 * Parsing takes tens of microseconds and real traffic repeats a few thousand user agents, so
 * results are kept in an LRU keyed by the exact string. The last answer is also kept apart: every
 * event of a batch request has the same user agent, and it skips the LRU's reordering.
 */
export function createUserAgentClassifier(cacheSize: number): UserAgentClassifier {
  const cache = new LruCache<string, UserAgentFacts>(cacheSize);
  let last: { userAgent: string; facts: UserAgentFacts } | undefined;
  return {
    classify(userAgent) {
      if (last?.userAgent === userAgent) return last.facts;
      let facts = cache.get(userAgent);
      if (!facts) {
        facts = classifyUserAgent(userAgent);
        if (userAgent.length <= maxCachedLength) cache.set(userAgent, facts);
      }
      last = { userAgent, facts };
      return facts;
    },
    get cachedCount() {
      return cache.size;
    },
  };
}
