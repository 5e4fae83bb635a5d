import type { Random } from './random.js';

/**
 * The made-up world the generator draws from: where visitors come from, what they do on a page.
 * Weights are rough shapes of real traffic, not measurements; what matters is that they are skewed.
 */

/** Visitor countries (ISO 3166-1 alpha-2) and their relative weights. */
export const visitorCountries: readonly (readonly [string, number])[] = [
  ['US', 28],
  ['DE', 9],
  ['GB', 8],
  ['IN', 7],
  ['FR', 5],
  ['BR', 4],
  ['CA', 4],
  ['NL', 3],
  ['JP', 3],
  ['ES', 3],
  ['IT', 3],
  ['PL', 2],
  ['AU', 2],
  ['SE', 2],
  ['MX', 2],
  ['CH', 1.5],
  ['AT', 1.5],
  ['BE', 1.5],
  ['TR', 1],
  ['KR', 1],
  ['ID', 1],
  ['ZA', 1],
  ['NG', 1],
  ['AR', 1],
  ['IE', 1],
  ['DK', 1],
  ['NO', 1],
  ['FI', 1],
  ['PT', 1],
  ['CZ', 1],
  ['SG', 1],
  ['VN', 1],
];

/** Crawlers mostly run from a few hosting countries. */
export const botCountries: readonly (readonly [string, number])[] = [
  ['US', 60],
  ['DE', 10],
  ['IE', 8],
  ['NL', 8],
  ['SG', 6],
  ['FR', 4],
  ['CN', 4],
];

/**
 * Relative weight of a browser user agent by its ua-parser family (others weigh 1). The data set
 * has many rare browsers and no current desktop Chrome, so this tilts the mix toward the common ones.
 */
export const browserFamilyWeights: Readonly<Record<string, number>> = {
  'Mobile Safari': 20,
  Safari: 15,
  Chromium: 8,
  Edge: 6,
  'Chrome Mobile iOS': 6,
  'Samsung Internet': 4,
  Brave: 3,
  'Mobile Safari UI/WKWebView': 3,
  'Chrome Mobile WebView': 2,
  'Firefox Mobile': 2,
  'Firefox iOS': 2,
  Opera: 2,
};

export interface Utm {
  source: string;
  medium: string;
  campaign: string;
}

/** Where a session comes from: the referrer of its first pageview and the UTM tags of its landing URL. */
export interface EntrySource {
  weight: number;
  referrer: string | ((random: Random) => string);
  utm: Utm | null;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Twitter/X wraps every link in a t.co short URL with a random path. */
function tcoLink(random: Random): string {
  let code = '';
  for (let i = 0; i < 10; i++) code += ALPHANUMERIC[random.int(0, ALPHANUMERIC.length - 1)];
  return `https://t.co/${code}`;
}

export const entrySources: readonly EntrySource[] = [
  // Direct, and email clients that strip the referrer without UTM tags: indistinguishable, as in reality.
  { weight: 30, referrer: '', utm: null },
  { weight: 26, referrer: 'https://www.google.com/', utm: null },
  { weight: 3, referrer: 'https://www.bing.com/', utm: null },
  { weight: 2, referrer: 'https://duckduckgo.com/', utm: null },
  { weight: 1, referrer: 'https://search.yahoo.com/', utm: null },
  {
    weight: 4,
    referrer: 'https://www.google.com/',
    utm: { source: 'google', medium: 'cpc', campaign: 'brand' },
  },
  { weight: 4, referrer: tcoLink, utm: null },
  { weight: 1.5, referrer: tcoLink, utm: { source: 'twitter', medium: 'social', campaign: 'launch_week' } },
  { weight: 4, referrer: 'https://www.facebook.com/', utm: null },
  {
    weight: 2,
    referrer: 'https://www.facebook.com/',
    utm: { source: 'facebook', medium: 'paid_social', campaign: 'retargeting' },
  },
  { weight: 2, referrer: 'https://www.reddit.com/', utm: null },
  { weight: 1.5, referrer: 'https://www.linkedin.com/', utm: null },
  { weight: 2, referrer: 'https://news.ycombinator.com/', utm: null },
  { weight: 2, referrer: 'https://github.com/', utm: null },
  { weight: 1, referrer: 'https://stackoverflow.com/', utm: null },
  { weight: 0.5, referrer: 'https://en.wikipedia.org/', utm: null },
  { weight: 4, referrer: '', utm: { source: 'newsletter', medium: 'email', campaign: 'weekly_digest' } },
  {
    weight: 1.5,
    referrer: 'https://mail.google.com/',
    utm: { source: 'newsletter', medium: 'email', campaign: 'spring_sale' },
  },
];

export type PageKind = 'home' | 'content' | 'product' | 'cart' | 'checkout' | 'signup';

/** Fixed pages every site has; blog posts, docs and products are added per site. */
export const staticPages: readonly (readonly [string, PageKind])[] = [
  ['/pricing', 'content'],
  ['/features', 'content'],
  ['/about', 'content'],
  ['/contact', 'content'],
  ['/login', 'content'],
  ['/signup', 'signup'],
  ['/cart', 'cart'],
  ['/checkout', 'checkout'],
  ['/blog', 'content'],
  ['/docs', 'content'],
  ['/docs/getting-started', 'content'],
  ['/docs/installation', 'content'],
  ['/docs/configuration', 'content'],
  ['/docs/api', 'content'],
  ['/docs/faq', 'content'],
];

export const blogWords = {
  first: ['how', 'why', 'when', 'ten', 'the', 'simple', 'faster', 'better', 'hidden', 'practical'],
  second: ['analytics', 'pricing', 'caching', 'privacy', 'dashboards', 'funnels', 'retention', 'metrics'],
  third: ['matters', 'explained', 'in-practice', 'at-scale', 'for-teams', 'done-right', 'checklist'],
} as const;

export const signupPlans: readonly (readonly [string, number])[] = [
  ['free', 6],
  ['pro', 3],
  ['team', 1],
];

export const scrollDepths: readonly number[] = [25, 50, 75, 100];

/** A custom event that may follow a pageview on a page of the given kinds. */
export interface CustomEventRule {
  name: 'scroll_depth' | 'add_to_cart' | 'signup' | 'purchase';
  /** Chance that one pageview of a matching page is followed by this event. */
  probability: number;
  pageKinds: readonly PageKind[] | 'any';
}

export const customEventRules: readonly CustomEventRule[] = [
  // Sent by the tracker without a user gesture: interactive:false, so it must not end a bounce.
  { name: 'scroll_depth', probability: 0.2, pageKinds: 'any' },
  { name: 'add_to_cart', probability: 0.15, pageKinds: ['product'] },
  { name: 'signup', probability: 0.35, pageKinds: ['signup'] },
  { name: 'purchase', probability: 0.4, pageKinds: ['checkout'] },
];
