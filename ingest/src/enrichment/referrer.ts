import { type KnownSource, sourceForAndroidApp, sourceForHost, sourceForUtm } from './referrer-sources.js';

export type Channel =
  | 'direct'
  | 'organic_search'
  | 'paid_search'
  | 'organic_social'
  | 'paid_social'
  | 'email'
  | 'referral'
  | 'other';

export interface Acquisition {
  referrer_source: string;
  channel: Channel;
}

/** The referring site or app, as read from the event's referrer. */
interface Origin {
  name: string;
  known: KnownSource | undefined;
}

// utm_medium values, after the conventions GA4's default channel grouping documents.
const paidMedium = /^(?:cpc|ppc|cpm|cpv|cpa|retargeting|paid.*)$/;
const emailMedium = /e[-_ ]?mail|newsletter/;
const socialMedium = /^(?:social|sm|social[-_ ](?:network|media))$/;

/** Ad click ids that ad platforms append by auto-tagging, when the advertiser set no UTM. */
const searchAdClickIds = ['gclid', 'gbraid', 'wbraid', 'msclkid'];

/**
 * referrer_source and channel for one event. UTM tags state the advertiser's intent, so
 * utm_medium decides the channel first; then the referring site; then whether anything points
 * elsewhere at all.
 */
export function classifyAcquisition(referrer: string, pageUrl: URL): Acquisition {
  const origin = originOf(referrer, pageUrl);
  const params = pageUrl.searchParams;
  const utmSource = (params.get('utm_source') ?? '').trim();
  const utmMedium = (params.get('utm_medium') ?? '').trim().toLowerCase();
  const utmKnown = utmSource ? sourceForUtm(utmSource) : undefined;
  const utmName = utmKnown?.name ?? utmSource;
  const known = origin?.known ?? utmKnown;

  if (utmMedium) {
    if (paidMedium.test(utmMedium)) {
      const source = origin?.name || utmName;
      return { referrer_source: source, channel: paidChannel(utmMedium, known) };
    }
    // The campaign names the mailing better than the webmail host the click came through.
    if (emailMedium.test(utmMedium))
      return { referrer_source: utmName || origin?.name || '', channel: 'email' };
    if (socialMedium.test(utmMedium))
      return { referrer_source: origin?.name || utmName, channel: 'organic_social' };
    if (utmMedium === 'organic')
      return { referrer_source: origin?.name || utmName, channel: 'organic_search' };
  }

  const source = origin?.name || utmName;
  if (searchAdClickIds.some((id) => params.has(id)))
    return { referrer_source: source, channel: 'paid_search' };
  if (known?.kind === 'search') return { referrer_source: source, channel: 'organic_search' };
  if (known?.kind === 'social') return { referrer_source: source, channel: 'organic_social' };
  if (known?.kind === 'email' || emailMedium.test(utmSource.toLowerCase()))
    return { referrer_source: source, channel: 'email' };
  if (origin) return { referrer_source: source, channel: 'referral' };
  if (utmSource || utmMedium) return { referrer_source: source, channel: 'other' };
  return { referrer_source: '', channel: 'direct' };
}

/** A medium that names the network type wins over what the source is known for. */
function paidChannel(utmMedium: string, known: KnownSource | undefined): Channel {
  if (utmMedium.includes('social')) return 'paid_social';
  if (utmMedium.includes('search')) return 'paid_search';
  if (known?.kind === 'search') return 'paid_search';
  if (known?.kind === 'social') return 'paid_social';
  // Display networks and the like: no paid_other channel in the schema.
  return 'other';
}

/**
 * The referring site, or undefined for none: an empty or unparsable Referer, a non-web scheme
 * (about:, file:), or the site itself — a self-referral is navigation within the site, and
 * counting it would turn every second pageview into a referral.
 */
function originOf(referrer: string, pageUrl: URL): Origin | undefined {
  if (!referrer) return undefined;
  if (lastRead.referrer !== referrer) lastRead = { referrer, read: readReferrer(referrer) };
  const { read } = lastRead;
  if (read === undefined || read.host === withoutWww(pageUrl.hostname)) return undefined;
  return read.origin;
}

// The last referrer read: the events of one batch request mostly share their referrer, and
// reading it is a URL parse and a lookup in the source lists.
let lastRead: { referrer: string; read: ReadReferrer | undefined } = { referrer: '', read: undefined };

/** With an http(s) referrer's host without www, to tell a self-referral (an app has none). */
type ReadReferrer = { origin: Origin; host?: string };

function readReferrer(referrer: string): ReadReferrer | undefined {
  let url: URL;
  try {
    url = new URL(referrer);
  } catch {
    return undefined;
  }
  if (url.protocol === 'android-app:') {
    if (!url.hostname) return undefined;
    const known = sourceForAndroidApp(url.hostname);
    return { origin: { name: known?.name ?? url.hostname, known } };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const host = withoutWww(url.hostname);
  if (!host) return undefined;
  const known = sourceForHost(host);
  return { origin: { name: known?.name ?? host, known }, host };
}

function withoutWww(hostname: string): string {
  return hostname.startsWith('www.') ? hostname.slice(4) : hostname;
}
