import type { GeneratedRequest } from './types.js';

/** What a correct pipeline should count for one site (or all of them), from the generator's own truth. */
export interface TrafficSummary {
  /** Every request, duplicates included. */
  requests: number;
  originals: number;
  duplicates: number;
  late: number;
  /** Distinct events (originals and late ones): what survives dedup by event_id. */
  uniqueEvents: number;
  /** Distinct human pageviews. */
  pageviews: number;
  /** Distinct human custom events (everything but pageviews). */
  events: number;
  /** Distinct human events with interactive:false. */
  nonInteractive: number;
  /** Distinct events sent by bots, any name. */
  bots: number;
  /** Sum of distinct human revenue amounts in EUR, rounded to cents. */
  revenue: number;
  /**
   * Distinct (IP, user agent) pairs among human events: what a cookieless visitor id can tell
   * apart. Ingest's salt rotates daily, so a run that crosses midnight UTC counts more.
   */
  visitors: number;
}

export interface Summary {
  total: TrafficSummary;
  /** Keyed by site id (a prototype-less object, so any site id is a safe key). */
  sites: Record<string, TrafficSummary>;
}

/** Counts the expectations independently of the pipeline under test; consumes the iterable once. */
export function summarize(requests: Iterable<GeneratedRequest>): Summary {
  const total = emptySummary();
  const sites: Record<string, TrafficSummary> = Object.create(null);
  const revenueCents = new Map<TrafficSummary, number>();
  const visitors = new Map<TrafficSummary, Set<string>>();

  for (const request of requests) {
    const siteId = request.body.site_id;
    let site = sites[siteId];
    if (site === undefined) {
      site = emptySummary();
      sites[siteId] = site;
    }
    for (const summary of [total, site]) {
      summary.requests++;
      if (request.kind === 'duplicate') {
        summary.duplicates++;
        continue;
      }
      if (request.kind === 'late') summary.late++;
      else summary.originals++;
      summary.uniqueEvents++;
      if (request.isBot) {
        summary.bots++;
        continue;
      }
      const { body } = request;
      if (body.name === 'pageview') summary.pageviews++;
      else summary.events++;
      if (body.interactive === false) summary.nonInteractive++;
      if (body.revenue) {
        // Sum in integer cents: adding floats such as 49.9 a million times drifts.
        const cents = Math.round(Number(body.revenue.amount) * 100);
        revenueCents.set(summary, (revenueCents.get(summary) ?? 0) + cents);
      }
      const seen = visitors.get(summary) ?? new Set<string>();
      seen.add(`${request.ip} ${request.userAgent}`);
      visitors.set(summary, seen);
    }
  }

  for (const summary of [total, ...Object.values(sites)]) {
    summary.revenue = (revenueCents.get(summary) ?? 0) / 100;
    summary.visitors = visitors.get(summary)?.size ?? 0;
  }
  return { total, sites };
}

function emptySummary(): TrafficSummary {
  return {
    requests: 0,
    originals: 0,
    duplicates: 0,
    late: 0,
    uniqueEvents: 0,
    pageviews: 0,
    events: 0,
    nonInteractive: 0,
    bots: 0,
    revenue: 0,
    visitors: 0,
  };
}
