/** A referrer we name and classify; everything else is reported by its hostname as a referral. */
export interface KnownSource {
  name: string;
  kind: 'search' | 'social' | 'email';
}

const search = (name: string): KnownSource => ({ name, kind: 'search' });
const social = (name: string): KnownSource => ({ name, kind: 'social' });
const email = (name: string): KnownSource => ({ name, kind: 'email' });

const google = search('Google');
const bing = search('Bing');
const yahoo = search('Yahoo');
const facebook = social('Facebook');
const instagram = social('Instagram');
const twitter = social('Twitter');
const linkedin = social('LinkedIn');
const reddit = social('Reddit');
const youtube = social('YouTube');
const pinterest = social('Pinterest');
const tiktok = social('TikTok');
const gmail = email('Gmail');
const outlook = email('Outlook');

/**
 * Registered domains and their subdomains (m.facebook.com, l.facebook.com, cn.bing.com…).
 * A longer entry wins over a shorter one, which is how webmail is told apart from search.
 */
const byDomain = new Map<string, KnownSource>([
  ['bing.com', bing],
  ['duckduckgo.com', search('DuckDuckGo')],
  ['baidu.com', search('Baidu')],
  ['ecosia.org', search('Ecosia')],
  ['search.brave.com', search('Brave Search')],
  ['startpage.com', search('Startpage')],
  ['qwant.com', search('Qwant')],
  ['kagi.com', search('Kagi')],
  ['search.naver.com', search('Naver')],
  ['search.seznam.cz', search('Seznam')],
  ['sogou.com', search('Sogou')],
  ['facebook.com', facebook],
  ['fb.com', facebook],
  ['fb.me', facebook],
  ['instagram.com', instagram],
  ['t.co', twitter],
  ['twitter.com', twitter],
  ['x.com', twitter],
  ['linkedin.com', linkedin],
  ['lnkd.in', linkedin],
  ['reddit.com', reddit],
  ['redd.it', reddit],
  ['youtube.com', youtube],
  ['youtu.be', youtube],
  ['pin.it', pinterest],
  ['tiktok.com', tiktok],
  ['threads.net', social('Threads')],
  ['bsky.app', social('Bluesky')],
  ['news.ycombinator.com', social('Hacker News')],
  ['vk.com', social('VK')],
  ['mail.google.com', gmail],
  ['outlook.live.com', outlook],
  ['outlook.office.com', outlook],
  ['outlook.office365.com', outlook],
  ['mail.yahoo.com', email('Yahoo Mail')],
  ['mail.proton.me', email('Proton Mail')],
]);

/**
 * Engines with a domain per country. Anchored, so that docs.google.com or news.yahoo.com stay
 * referrals under their own hostname instead of counting as searches.
 */
const byPattern: [RegExp, KnownSource][] = [
  [/^google\.(?:com?\.)?[a-z]{2,3}$/, google],
  [/^(?:[a-z]{2}\.)?search\.yahoo\.(?:com?\.)?[a-z]{2,3}$|^yahoo\.(?:com?\.)?[a-z]{2,3}$/, yahoo],
  [/^yandex\.(?:com?\.)?[a-z]{2,3}$|^ya\.ru$/, search('Yandex')],
  [/^(?:[a-z]{2}\.)?pinterest\.(?:com?\.)?[a-z]{2,3}$/, pinterest],
];

/** Android apps send `android-app://<package>/` as the referrer. */
const byAndroidApp = new Map<string, KnownSource>([
  ['com.google.android.gm', gmail],
  ['com.microsoft.office.outlook', outlook],
  ['com.google.android.googlequicksearchbox', google],
  ['com.google.android.youtube', youtube],
  ['com.facebook.katana', facebook],
  ['com.facebook.lite', facebook],
  ['com.instagram.android', instagram],
  ['com.twitter.android', twitter],
  ['com.linkedin.android', linkedin],
  ['com.reddit.frontpage', reddit],
  ['com.pinterest', pinterest],
  ['com.zhiliaoapp.musically', tiktok],
]);

/** utm_source spellings seen in campaign links, lower case. Anything with a dot is looked up as a host. */
const byUtmSource = new Map<string, KnownSource>([
  ['google', google],
  ['adwords', google],
  ['googleads', google],
  ['google_ads', google],
  ['bing', bing],
  ['bingads', bing],
  ['microsoft', bing],
  ['duckduckgo', search('DuckDuckGo')],
  ['yahoo', yahoo],
  ['yandex', search('Yandex')],
  ['baidu', search('Baidu')],
  ['ecosia', search('Ecosia')],
  ['facebook', facebook],
  ['fb', facebook],
  ['meta', facebook],
  ['instagram', instagram],
  ['ig', instagram],
  ['twitter', twitter],
  ['x', twitter],
  ['linkedin', linkedin],
  ['reddit', reddit],
  ['youtube', youtube],
  ['pinterest', pinterest],
  ['tiktok', tiktok],
  ['gmail', gmail],
]);

/** `host` is lower case without a leading "www.". */
export function sourceForHost(host: string): KnownSource | undefined {
  for (let suffix = host; ; ) {
    const known = byDomain.get(suffix);
    if (known) return known;
    const dot = suffix.indexOf('.');
    if (dot < 0) break;
    suffix = suffix.slice(dot + 1);
  }
  for (const [pattern, known] of byPattern) if (pattern.test(host)) return known;
  return undefined;
}

export function sourceForAndroidApp(packageName: string): KnownSource | undefined {
  return byAndroidApp.get(packageName);
}

export function sourceForUtm(utmSource: string): KnownSource | undefined {
  const key = utmSource.toLowerCase();
  return byUtmSource.get(key) ?? (key.includes('.') ? sourceForHost(key.replace(/^www\./, '')) : undefined);
}
