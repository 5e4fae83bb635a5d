import { botCountries, browserFamilyWeights, visitorCountries } from './catalog.js';
import { type Random, type WeightedPick, weightedPick } from './random.js';
import type { UserAgents } from './user-agents.js';

export interface Visitor {
  ip: string;
  userAgent: string;
  country: string;
  isBot: boolean;
}

/** How many past visitors a site remembers to bring back; bounds memory on long runs. */
const RETURNING_POOL = 4096;
const RETURNING_SHARE = 0.25;
/** Crawlers come back far more often than people, and there are few of them per site. */
const BOT_POOL = 40;
const BOT_RETURNING_SHARE = 0.7;
/**
 * Most visitors get an address from 2001:db8::/32: the IPv4 documentation ranges hold only 762
 * hosts, and ingest tells visitors apart by IP and user agent, so too many IPv4 visitors would
 * merge into one another.
 */
const IPV4_SHARE = 0.2;
const IPV4_PREFIXES = ['192.0.2.', '198.51.100.', '203.0.113.'] as const;

export interface VisitorSource {
  /** A new or returning visitor of one site. */
  next(pool: VisitorPool, isBot: boolean): Visitor;
}

export interface VisitorPool {
  humans: Visitor[];
  bots: Visitor[];
  /** Where the next new human overwrites the pool once it is full. */
  cursor: number;
}

export function createVisitorPool(): VisitorPool {
  return { humans: [], bots: [], cursor: 0 };
}

export function createVisitorSource(random: Random, userAgents: UserAgents): VisitorSource {
  const pickBrowser = weightedPick(
    userAgents.browsers.map((browser) => browser.ua),
    userAgents.browsers.map((browser) => browserFamilyWeights[browser.family] ?? 1),
  );
  const pickCountry = pickFromPairs(visitorCountries);
  const pickBotCountry = pickFromPairs(botCountries);

  const hex16 = (): string => random.int(0, 0xffff).toString(16);
  const ipv4 = (): string => `${random.pick(IPV4_PREFIXES)}${random.int(1, 254)}`;
  const ipv6 = (): string => `2001:db8:${hex16()}:${hex16()}:${hex16()}:${hex16()}:${hex16()}:${hex16()}`;

  return {
    next(pool, isBot) {
      if (isBot) {
        if (pool.bots.length > 0 && (pool.bots.length >= BOT_POOL || random.chance(BOT_RETURNING_SHARE))) {
          return random.pick(pool.bots);
        }
        const bot = {
          ip: ipv4(),
          userAgent: random.pick(userAgents.bots),
          country: pickBotCountry(random),
          isBot,
        };
        pool.bots.push(bot);
        return bot;
      }
      if (pool.humans.length > 0 && random.chance(RETURNING_SHARE)) return random.pick(pool.humans);
      const human = {
        ip: random.chance(IPV4_SHARE) ? ipv4() : ipv6(),
        userAgent: pickBrowser(random),
        country: pickCountry(random),
        isBot,
      };
      if (pool.humans.length < RETURNING_POOL) pool.humans.push(human);
      else pool.humans[pool.cursor] = human;
      pool.cursor = (pool.cursor + 1) % RETURNING_POOL;
      return human;
    },
  };
}

function pickFromPairs<T>(pairs: readonly (readonly [T, number])[]): WeightedPick<T> {
  return weightedPick(
    pairs.map(([value]) => value),
    pairs.map(([, weight]) => weight),
  );
}
