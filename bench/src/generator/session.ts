import type { EventInput } from '@sightline/core';
import { type CustomEventRule, scrollDepths, signupPlans } from './catalog.js';
import type { Due } from './heap.js';
import { type Random, weightedPick } from './random.js';
import type { Page, Product, SiteModel } from './site-model.js';
import type { Visitor } from './visitors.js';

const SECOND = 1000;

/** Pageviews per session are geometric: after each one the visitor goes on with this chance (mean 3.5). */
export const MEAN_PAGEVIEWS = 3.5;
const CONTINUE_CHANCE = 1 - 1 / MEAN_PAGEVIEWS;
/** Reading time between pageviews: a few seconds at least, a long tail, capped so sessions stay open. */
const MIN_READ_MS = 3 * SECOND;
const MEAN_EXTRA_READ_MS = 45 * SECOND;
const MAX_READ_MS = 20 * 60 * SECOND;
/** Crawlers fetch pages back to back. */
const BOT_GAP_MS: readonly [number, number] = [1 * SECOND, 10 * SECOND];
/** A custom event follows its pageview (or the previous custom event) after this delay. */
const CUSTOM_EVENT_DELAY_MS: readonly [number, number] = [500, 15 * SECOND];

/** An open session; it sits in the generator's heap, due when it sends its next event. */
export interface Session extends Due {
  id: number;
  site: SiteModel;
  visitor: Visitor;
  pageviews: number;
  /** The page being viewed: custom events are sent from it. */
  url: string;
  referrer: string;
  /** Referrer of the next pageview: the landing source first, then the previous page, as browsers send it. */
  nextReferrer: string;
  /** Query string of the landing URL (UTM tags), used on the first pageview only. */
  landingQuery: string;
  page: Page | null;
  /**
   * Custom events still to follow the current pageview, as bits over `page.rules` (lowest first).
   * A bit mask rather than an array: with hundreds of thousands of open sessions, an array each
   * meant as many small allocations for the garbage collector to move.
   */
  pending: number;
  /** Whether another pageview follows the current one. */
  goesOn: boolean;
  cart: Product | null;
}

/** Mean time from a session's first event to its last, for the sessions open at the start of a run. */
export function meanSessionMs(site: SiteModel, isBot: boolean): number {
  if (isBot) return (MEAN_PAGEVIEWS - 1) * ((BOT_GAP_MS[0] + BOT_GAP_MS[1]) / 2);
  const customEventsMs =
    MEAN_PAGEVIEWS *
    site.customEventsPerPageview *
    ((CUSTOM_EVENT_DELAY_MS[0] + CUSTOM_EVENT_DELAY_MS[1]) / 2);
  return (MEAN_PAGEVIEWS - 1) * (MIN_READ_MS + MEAN_EXTRA_READ_MS) + customEventsMs;
}

export interface SessionSteps {
  /** The session's next event; advances the session. */
  nextEvent(session: Session, eventId: string, timestamp: number): EventInput;
  /** When the session sends its next event after one at `at`, or null when it is over. */
  nextDue(session: Session, at: number): number | null;
  /** Time until the next pageview of a session caught mid-way (reading gaps are memoryless). */
  residualGap(isBot: boolean): number;
}

/**
 * What a visitor does within a session. Bodies are object literals with one fixed key order:
 * spreading a shared base object into each body cost about 2 µs a body in V8 (Node 20), more than
 * all the rest of an event.
 */
export function createSessionSteps(random: Random): SessionSteps {
  const pickPlan = weightedPick(
    signupPlans.map(([plan]) => plan),
    signupPlans.map(([, weight]) => weight),
  );

  const customEvent = (
    session: Session,
    rule: CustomEventRule,
    event_id: string,
    timestamp: number,
  ): EventInput => {
    const { url, referrer } = session;
    const site_id = session.site.id;
    const name = rule.name;
    switch (name) {
      case 'scroll_depth': {
        // Sent by the tracker on scroll, not on a click: must not count as engagement.
        const props = { percent: random.pick(scrollDepths) };
        return { site_id, name, url, referrer, props, interactive: false, event_id, timestamp };
      }
      case 'add_to_cart': {
        const product = session.page?.product ?? random.pick(session.site.products);
        session.cart = product;
        return { site_id, name, url, referrer, props: { product: product.sku }, event_id, timestamp };
      }
      case 'signup':
        return { site_id, name, url, referrer, props: { plan: pickPlan(random) }, event_id, timestamp };
      case 'purchase': {
        const product = session.cart ?? random.pick(session.site.products);
        session.cart = null;
        const props = { product: product.sku };
        const revenue = { amount: product.price, currency: 'EUR' };
        return { site_id, name, url, referrer, props, revenue, event_id, timestamp };
      }
    }
  };

  return {
    nextEvent(session, event_id, timestamp) {
      if (session.pending !== 0) {
        const lowest = session.pending & -session.pending;
        session.pending ^= lowest;
        const rule = session.page!.rules[31 - Math.clz32(lowest)]!;
        return customEvent(session, rule, event_id, timestamp);
      }

      const page = session.site.pickPage(random);
      session.page = page;
      session.url = session.pageviews === 0 ? page.url + session.landingQuery : page.url;
      session.referrer = session.nextReferrer;
      session.nextReferrer = session.url;
      session.pageviews++;
      session.goesOn = random.chance(CONTINUE_CHANCE);
      if (!session.visitor.isBot) {
        for (let i = 0; i < page.rules.length; i++) {
          if (random.chance(page.rules[i]!.probability)) session.pending |= 1 << i;
        }
      }
      const site_id = session.site.id;
      return { site_id, name: 'pageview', url: session.url, referrer: session.referrer, event_id, timestamp };
    },

    nextDue(session, at) {
      if (session.pending !== 0) {
        return at + random.int(CUSTOM_EVENT_DELAY_MS[0], CUSTOM_EVENT_DELAY_MS[1]);
      }
      if (!session.goesOn) return null;
      if (session.visitor.isBot) return at + random.int(BOT_GAP_MS[0], BOT_GAP_MS[1]);
      return at + Math.min(MAX_READ_MS, MIN_READ_MS + Math.floor(random.exponential(MEAN_EXTRA_READ_MS)));
    },

    residualGap(isBot) {
      if (isBot) return random.int(0, BOT_GAP_MS[1]);
      return Math.floor(random.exponential(MIN_READ_MS + MEAN_EXTRA_READ_MS));
    },
  };
}
