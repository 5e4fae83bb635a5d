import { dailyShare } from './daily-cycle.js';
import type { ResolvedOptions } from './options.js';
import { type WeightedPick, weightedPick, zipfWeights } from './random.js';
import { MEAN_PAGEVIEWS, meanSessionMs } from './session.js';
import { buildSiteModel, type SiteModel } from './site-model.js';

export interface SitePlan {
  model: SiteModel;
  /** Chance a new session is a bot's, chosen so that bots send `botShare` of the requests. */
  botSessionChance: number;
  /** Chance a session already open at the start is a bot's: bots' sessions are shorter, so fewer are open. */
  botOpenChance: number;
}

/** The rates that turn the options' shares of requests into chances per session and per event. */
export interface TrafficPlan {
  sites: SitePlan[];
  /** Index into `sites` for a new session. */
  pickSite: WeightedPick<number>;
  /** Session arrivals per ms at the peak hour, before the daily cycle thins them. */
  peakSessionsPerMs: number;
  /** Sessions a steady stream has in progress at `start`. */
  openAtStart: number;
  /** Chance a unique event is sent late. */
  lateChance: number;
  /** Chance a unique event is retried. */
  retryChance: number;
}

export function planTraffic(config: ResolvedOptions): TrafficPlan {
  const { botShare, duplicateShare, lateShare } = config;

  const perSite = config.sites.map((id) => {
    const model = buildSiteModel(id, config.hostnameFor(id), config.seed);
    // Humans send pageviews plus custom events, bots pageviews only: weight bot sessions up so
    // that bots' share of requests, not of sessions, is botShare.
    const humanEvents = 1 + model.customEventsPerPageview;
    const botSessionChance = (botShare * humanEvents) / (botShare * humanEvents + (1 - botShare));
    const eventsPerSession = MEAN_PAGEVIEWS * (botSessionChance + (1 - botSessionChance) * humanEvents);
    const botMs = botSessionChance * meanSessionMs(model, true);
    const humanMs = (1 - botSessionChance) * meanSessionMs(model, false);
    return {
      model,
      botSessionChance,
      botOpenChance: botMs / (botMs + humanMs),
      eventsPerSession,
      meanMs: botMs + humanMs,
    };
  });

  // Sites get sessions in proportion to Zipf share / events per session, so that their share of
  // requests (not of sessions) follows Zipf.
  const zipf = zipfWeights(perSite.length, config.zipfExponent);
  const zipfTotal = zipf.reduce((sum, weight) => sum + weight, 0);
  const sessionsPerEvent = perSite.map((site, i) => zipf[i]! / zipfTotal / site.eventsPerSession);
  const totalSessionsPerEvent = sessionsPerEvent.reduce((sum, weight) => sum + weight, 0);
  // Unique events (originals and late ones) are 1 - duplicateShare of all requests.
  const peakSessionsPerMs = ((config.eventsPerSecond * (1 - duplicateShare)) / 1000) * totalSessionsPerEvent;

  // Little's law: open sessions = arrival rate x mean session length, per site.
  const sessionsPerMsAtStart = peakSessionsPerMs * dailyShare(config.start);
  const openAtStart = perSite.reduce(
    (sum, site, i) =>
      sum + ((sessionsPerMsAtStart * sessionsPerEvent[i]!) / totalSessionsPerEvent) * site.meanMs,
    0,
  );

  return {
    sites: perSite.map(({ model, botSessionChance, botOpenChance }) => ({
      model,
      botSessionChance,
      botOpenChance,
    })),
    pickSite: weightedPick(
      perSite.map((_, i) => i),
      sessionsPerEvent,
    ),
    peakSessionsPerMs,
    openAtStart: Math.round(openAtStart),
    lateChance: lateShare / (1 - duplicateShare),
    retryChance: duplicateShare / (1 - duplicateShare),
  };
}
