import { headersLookAutomated } from './bot-signals.js';
import { type Channel, classifyAcquisition } from './referrer.js';
import { createUserAgentClassifier, type Device } from './user-agent.js';

export type { Channel } from './referrer.js';
export type { Device } from './user-agent.js';

/** The derived columns of events_raw that enrichment fills. '' means unknown. */
export interface Enrichment {
  /** Family as ua-parser-js 1.x names it: 'Chrome', 'Mobile Safari', 'Samsung Internet'… */
  browser: string;
  /** Major version only: finer versions fragment breakdowns without telling anyone anything. */
  browser_version: string;
  os: string;
  device: Device;
  is_bot: boolean;
  /** A known name ('Google', 'Twitter'), utm_source, or the referrer's hostname without www; '' for direct. */
  referrer_source: string;
  channel: Channel;
}

export interface EnrichInput {
  userAgent: string;
  /** The event's referrer as the page reported it; '' for none. */
  referrer: string;
  pageUrl: URL;
  /** Request headers with lower-case names, when the caller has them. */
  headers?: Record<string, string | undefined>;
}

export interface Enricher {
  enrich(input: EnrichInput): Enrichment;
}

/** Enough for the few thousand user agents that make up nearly all real traffic. */
const defaultCacheSize = 5000;

/**
 * Pure apart from its user-agent cache: the same input always gives the same output, which is
 * what lets a reprocess rebuild these columns from the raw event, as long as the raw event keeps
 * every input used (headers included, when passed). Bots are flagged, never dropped.
 */
export function createEnricher(options: { cacheSize?: number } = {}): Enricher {
  const userAgents = createUserAgentClassifier(options.cacheSize ?? defaultCacheSize);
  return {
    enrich({ userAgent, referrer, pageUrl, headers }) {
      const ua = userAgents.classify(userAgent);
      const isBot =
        ua.looksAutomated || (headers !== undefined && headersLookAutomated(headers, ua.namesBrowser));
      const acquisition = classifyAcquisition(referrer, pageUrl);
      return {
        browser: ua.browser,
        browser_version: ua.browser_version,
        os: ua.os,
        device: isBot ? 'bot' : ua.device,
        is_bot: isBot,
        referrer_source: acquisition.referrer_source,
        channel: acquisition.channel,
      };
    },
  };
}
