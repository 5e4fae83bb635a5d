import type { EventInput } from '@sightline/core';
import { entrySources } from './catalog.js';
import { dailyShare } from './daily-cycle.js';
import { type Due, DueHeap } from './heap.js';
import { resolveOptions } from './options.js';
import { createRandom, type Random, weightedPick } from './random.js';
import { createSessionSteps, type Session } from './session.js';
import { planTraffic } from './traffic-plan.js';
import type { GeneratedRequest, GeneratorOptions } from './types.js';
import { loadUserAgents } from './user-agents.js';
import { createVisitorPool, createVisitorSource } from './visitors.js';

const HOUR = 3_600_000;
const LATE_MS: readonly [number, number] = [1 * HOUR, 48 * HOUR];
/** A retry goes out after an exponential backoff step (0.5 s to 16 s) plus jitter. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_STEP = 5;

/** A client retry waiting to be sent. */
interface PendingRetry extends Due {
  request: GeneratedRequest;
}

/**
 * Yields synthetic requests to POST /v1/events in simulated-time (`sentAt`) order.
 *
 * Sessions start as a Poisson process shaped by the daily cycle; each runs geometric pageviews with
 * custom events in between. Every unique event is late with a fixed chance (its timestamp moved into
 * the past) and is retried with a fixed chance, both set so that `lateShare` and `duplicateShare`
 * hold as shares of all yielded requests. Same options, same sequence, byte for byte.
 */
export function* generateTraffic(options: GeneratorOptions): Generator<GeneratedRequest> {
  const config = resolveOptions(options);
  const random = createRandom(config.seed);
  const plan = planTraffic(config);
  const visitorSource = createVisitorSource(random, loadUserAgents(config.dataDir));
  const steps = createSessionSteps(random);
  const pickEntry = weightedPick(
    entrySources,
    entrySources.map((source) => source.weight),
  );
  const pools = plan.sites.map(() => createVisitorPool());

  const start = config.start;
  const end = start + config.durationMs;
  // Open sessions and pending retries wait in two heaps; sessions are the heap items themselves,
  // with no wrapper object to chase.
  const sessions = new DueHeap<Session>();
  const retries = new DueHeap<PendingRetry>();
  let sessionCount = 0;

  /** `midway`: the session was already running when the run starts (see the warm start below). */
  const openSession = (at: number, siteIndex: number, isBot: boolean, midway: boolean): void => {
    const site = plan.sites[siteIndex]!.model;
    const visitor = visitorSource.next(pools[siteIndex]!, isBot);
    let referrer = '';
    let landingQuery = '';
    if (midway) {
      // It came from another page of the same site, as a browser's referrer says.
      if (!isBot) referrer = site.pickPage(random).url;
    } else if (!isBot) {
      const entry = pickEntry(random);
      referrer = typeof entry.referrer === 'string' ? entry.referrer : entry.referrer(random);
      if (entry.utm) {
        const { source, medium, campaign } = entry.utm;
        landingQuery = `?utm_source=${source}&utm_medium=${medium}&utm_campaign=${campaign}`;
      }
    }
    sessions.push({
      at,
      id: ++sessionCount,
      site,
      visitor,
      pageviews: midway ? 1 : 0,
      url: '',
      referrer: '',
      nextReferrer: referrer,
      landingQuery,
      page: null,
      pending: 0,
      goesOn: false,
      cart: null,
    });
  };

  // Warm start: open the sessions a steady stream would have in progress at `start`, so a run
  // carries its full rate from the first second instead of ramping up over minutes. Pageview
  // counts and reading gaps are memoryless, so such a session goes on like a new one, only
  // without a landing page.
  for (let n = plan.openAtStart; n > 0; n--) {
    const siteIndex = plan.pickSite(random);
    const isBot = random.chance(plan.sites[siteIndex]!.botOpenChance);
    const at = start + steps.residualGap(isBot);
    if (at < end) openSession(at, siteIndex, isBot, true);
  }

  // Thinning: draw candidates at the peak rate and keep each with the daily share at its moment,
  // which gives a Poisson process whose rate follows the daily cycle.
  const meanArrivalGapMs = 1 / plan.peakSessionsPerMs;
  let arrivalClock = start;
  const nextArrival = (): number => {
    for (;;) {
      arrivalClock += random.exponential(meanArrivalGapMs);
      if (arrivalClock >= end) return Number.POSITIVE_INFINITY;
      if (random.next() < dailyShare(arrivalClock)) return Math.floor(arrivalClock);
    }
  };

  let arrival = nextArrival();
  for (;;) {
    const session = sessions.peek();
    const retry = retries.peek();
    if (
      arrival !== Number.POSITIVE_INFINITY &&
      (session === undefined || arrival < session.at) &&
      (retry === undefined || arrival < retry.at)
    ) {
      const siteIndex = plan.pickSite(random);
      openSession(arrival, siteIndex, random.chance(plan.sites[siteIndex]!.botSessionChance), false);
      arrival = nextArrival();
      continue;
    }
    if (retry !== undefined && (session === undefined || retry.at <= session.at)) {
      retries.pop();
      yield retry.request;
      continue;
    }
    // Sessions are never scheduled at or past the end, and retries are clamped before it.
    if (session === undefined) return;

    const at = session.at;
    const late = random.chance(plan.lateChance);
    // Clamped at 0 only so that a run starting near 1970 still yields valid bodies.
    const timestamp = late ? Math.max(0, at - random.int(LATE_MS[0], LATE_MS[1])) : at;
    const body = steps.nextEvent(session, random.uuid(), timestamp);
    const { visitor } = session;
    const request: GeneratedRequest = {
      body,
      ip: visitor.ip,
      userAgent: visitor.userAgent,
      country: visitor.country,
      kind: late ? 'late' : 'original',
      isBot: visitor.isBot,
      sentAt: at,
      sessionId: session.id,
    };

    let pendingRetry: PendingRetry | null = null;
    if (random.chance(plan.retryChance)) {
      // Clamped so that every retry of the run is yielded within it.
      const retryAt = Math.min(end - 1, at + retryDelay(random));
      const repeated: GeneratedRequest = {
        body: copyBody(body),
        ip: request.ip,
        userAgent: request.userAgent,
        country: request.country,
        kind: 'duplicate',
        isBot: request.isBot,
        sentAt: retryAt,
        sessionId: request.sessionId,
      };
      pendingRetry = { at: retryAt, request: repeated };
    }
    const following = steps.nextDue(session, at);
    if (following !== null && following < end) {
      session.at = following;
      sessions.replaceTop(session);
    } else {
      sessions.pop();
    }
    if (pendingRetry) retries.push(pendingRetry);
    yield request;
  }
}

function retryDelay(random: Random): number {
  return RETRY_BASE_MS * 2 ** random.int(0, RETRY_MAX_STEP) + random.int(0, RETRY_BASE_MS);
}

/** A retry sends the same bytes; a copy keeps a consumer that mutates one body from changing the other. */
function copyBody(body: EventInput): EventInput {
  const copy = { ...body };
  if (body.props) copy.props = { ...body.props };
  if (body.revenue) copy.revenue = { ...body.revenue };
  return copy;
}
