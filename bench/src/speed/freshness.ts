/**
 * Freshness: the service runs as `npm start` would (own process, own local Kafka, chDB), takes a
 * steady load of generated traffic, and marker events go to marker sites that get nothing else. A
 * marker is "counted" once the site's hourly timeseries (served from speed_hourly for the open hour)
 * reaches its ordinal; freshness is counted time − the marker's own 2xx time.
 *
 * Markers of one site are sent one after another (the next only after the previous one's 2xx), so
 * they sit in Kafka in send order on the site's partition, which the Kafka engine reads in order:
 * a count of n means markers 1..n are in. Several marker sites take turns so that a slow 2xx does
 * not thin out the sample.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventInput } from '@sightline/core';
import { dailyShare, generateTraffic } from '../generator/index.js';
import { startService } from '../ingest/service-process.js';
import { freePortPair, percentile, sleep } from './util.js';

export interface FreshnessOptions {
  rate: number;
  seconds: number;
  /** Sites that carry the generated load (Zipf-shared). */
  loadSites: number;
  /** Sites that carry only markers, taking turns. */
  markerSites: number;
  /** One marker slot every this many ms (round robin over the marker sites). */
  markerEveryMs: number;
  /** Wait after the load for markers still uncounted. */
  drainSeconds: number;
  progress(line: string): void;
}

export interface FreshnessResult {
  loadSites: number;
  markerSites: number;
  markerEveryMs: number;
  targetRate: number;
  seconds: number;
  loadMs: number;
  /** Events the generator had due and that went out in a request. */
  eventsSent: number;
  /** Events in 2xx answers (accepted). */
  eventsAccepted: number;
  /** Events the pacer skipped because too many requests were in flight (the service fell behind). */
  eventsNotSent: number;
  /** Items listed as rejected inside 2xx answers. */
  eventsRejected: number;
  requests: number;
  /** Non-2xx answers by status, and transport errors/timeouts as "error". */
  non2xx: Record<string, number>;
  requestP50: number;
  requestP99: number;
  markersSent: number;
  markersAcked: number;
  markersCounted: number;
  /** Marker slots skipped because the site's previous marker had no 2xx yet. */
  markerSlotsSkipped: number;
  markerNon2xx: number;
  /**
   * counted − 2xx, ms, one per counted acked marker. "Counted" is the arrival of the first poll
   * answer that includes it; a marker can be counted before its own 2xx arrives (negative values).
   */
  freshness: number[];
  /** 2xx − send, ms, one per acked marker. */
  markerAck: number[];
  /** Duration of one timeseries poll, ms: the resolution of "counted". */
  poll: number[];
  pollErrors: number;
  /** From the service's /metrics right at the end of the load. */
  lagAtEnd: number | undefined;
  /** Bytes in ingest's local spool at the end of the load. */
  spoolBytesAtEnd: number | undefined;
  /**
   * Events (load and markers) ingest acknowledged once Kafka had them, and once its local spool had
   * them because Kafka's ack took longer than PRODUCE_DEADLINE_MS; from /metrics after the load.
   */
  acceptedViaKafka: number | undefined;
  acceptedViaSpool: number | undefined;
}

interface Marker {
  site: number;
  seq: number;
  sentAt: number;
  ackAt?: number;
  countedAt?: number;
}

const TICK_MS = 100;
const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 30_000;
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0';

export async function measureFreshness(options: FreshnessOptions): Promise<FreshnessResult> {
  const { rate, seconds, progress } = options;
  const adminToken = `bench-${randomUUID()}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sightline-speed-bench-'));
  const kafkaPort = await freePortPair();
  const httpPort = await freePortPair();
  progress(`starting the service (local Kafka on ${kafkaPort}, chDB in ${dataDir})…`);
  const service = await startService(
    {
      DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      LOCAL_KAFKA_PORT: String(kafkaPort),
      // A fresh broker and chDB of its own, whatever the calling shell points at; a queue of its own
      // in the shared Redis, so no other batch scheduler picks up its jobs.
      KAFKA_BROKERS: '',
      CLICKHOUSE_URL: '',
      BATCH_QUEUE: `speed-bench-${process.pid}-${Date.now().toString(36)}`,
      RATE_LIMIT_IP_PER_MINUTE: '0',
      RATE_LIMIT_SITE_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    },
    httpPort,
  );
  try {
    const base = service.url;
    const createSite = async (domain: string): Promise<string> => {
      const res = await fetch(`${base}/v1/admin/sites`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain, timezone: 'UTC' }),
      });
      if (!res.ok) throw new Error(`creating site ${domain}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { site_id: string }).site_id;
    };
    const domains = new Map<string, string>();
    const loadSites: string[] = [];
    for (let i = 0; i < options.loadSites; i++) {
      const domain = `load-${i}.speed-bench.example`;
      const id = await createSite(domain);
      domains.set(id, domain);
      loadSites.push(id);
    }
    const markerSites: { id: string; domain: string }[] = [];
    for (let i = 0; i < options.markerSites; i++) {
      const domain = `marker-${i}.speed-bench.example`;
      markerSites.push({ id: await createSite(domain), domain });
    }

    // The generator's clock is simulated; only its bodies are used, re-timed to now as they go out
    // (a late event keeps its lateness). Its peak rate is set so it never runs dry.
    const now = Date.now();
    const traffic = generateTraffic({
      seed: 4,
      sites: loadSites,
      start: now,
      durationMs: 7 * 86_400_000,
      eventsPerSecond: Math.max(50, Math.ceil(rate / dailyShare(now))),
      hostnameFor: (id) => domains.get(id)!,
    });

    const result: FreshnessResult = {
      loadSites: loadSites.length,
      markerSites: markerSites.length,
      markerEveryMs: options.markerEveryMs,
      targetRate: rate,
      seconds,
      loadMs: 0,
      eventsSent: 0,
      eventsAccepted: 0,
      eventsNotSent: 0,
      eventsRejected: 0,
      requests: 0,
      non2xx: {},
      requestP50: Number.NaN,
      requestP99: Number.NaN,
      markersSent: 0,
      markersAcked: 0,
      markersCounted: 0,
      markerSlotsSkipped: 0,
      markerNon2xx: 0,
      freshness: [],
      markerAck: [],
      poll: [],
      pollErrors: 0,
      lagAtEnd: undefined,
      spoolBytesAtEnd: undefined,
      acceptedViaKafka: undefined,
      acceptedViaSpool: undefined,
    };
    const requestMs: number[] = [];
    const bump = (key: string) => {
      result.non2xx[key] = (result.non2xx[key] ?? 0) + 1;
    };

    const post = (bodies: EventInput[], first: { ip: string; userAgent: string }): Promise<void> => {
      const started = performance.now();
      result.requests += 1;
      result.eventsSent += bodies.length;
      return fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': first.userAgent,
          'accept-language': 'en-US,en;q=0.8',
          'x-forwarded-for': first.ip,
        },
        body: JSON.stringify({ events: bodies }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).then(
        async (res) => {
          const text = await res.text();
          requestMs.push(performance.now() - started);
          if (res.status >= 200 && res.status < 300) {
            const answer = JSON.parse(text) as { accepted: number; rejected?: unknown[] };
            result.eventsAccepted += answer.accepted;
            result.eventsRejected += answer.rejected?.length ?? 0;
          } else bump(String(res.status));
        },
        () => bump('error'),
      );
    };

    // Markers: sequential per site, sites take turns. A marker without a 2xx may or may not be in
    // Kafka, so its site's count no longer tells the later ordinals apart: the site sends no more
    // (the markers before it stay valid, being earlier on the partition).
    const markers: Marker[] = [];
    const retired = new Set<number>();
    const failed = (marker: Marker): void => {
      result.markerNon2xx += 1;
      marker.ackAt = Number.NaN;
      retired.add(marker.site);
    };
    const lastOfSite: (Marker | undefined)[] = markerSites.map(() => undefined);
    const sendMarker = (slot: number): void => {
      const site = slot % markerSites.length;
      const last = lastOfSite[site];
      if (retired.has(site) || (last && last.ackAt === undefined)) {
        result.markerSlotsSkipped += 1;
        return;
      }
      const { id, domain } = markerSites[site]!;
      const marker: Marker = { site, seq: (last?.seq ?? 0) + 1, sentAt: performance.now() };
      lastOfSite[site] = marker;
      markers.push(marker);
      result.markersSent += 1;
      void fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': BROWSER_UA,
          'accept-language': 'en-US,en;q=0.8',
        },
        body: JSON.stringify({
          site_id: id,
          name: 'pageview',
          url: `https://${domain}/marker/${marker.seq}`,
        }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status >= 200 && res.status < 300) marker.ackAt = performance.now();
          else failed(marker);
        },
        () => failed(marker),
      );
    };

    // Poller: every marker site's pageviews in the open hours, one round at a time.
    const hour = 3_600_000;
    const from = new Date(Math.floor(Date.now() / hour) * hour).toISOString();
    const to = new Date(Math.floor(Date.now() / hour) * hour + 3 * hour).toISOString();
    let polling = true;
    const pollSite = async (site: number): Promise<void> => {
      const started = performance.now();
      try {
        const res = await fetch(
          `${base}/v1/sites/${markerSites[site]!.id}/timeseries?metrics=pageviews&interval=hour&from=${from}&to=${to}`,
          {
            headers: { authorization: `Bearer ${adminToken}` },
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          },
        );
        if (!res.ok) {
          await res.arrayBuffer();
          result.pollErrors += 1;
          return;
        }
        const body = (await res.json()) as { results: { pageviews?: number }[] };
        const at = performance.now();
        result.poll.push(at - started);
        const count = body.results.reduce((sum, r) => sum + (r.pageviews ?? 0), 0);
        for (const m of markers) {
          if (m.site === site && m.countedAt === undefined && m.seq <= count) m.countedAt = at;
        }
      } catch {
        result.pollErrors += 1;
      }
    };
    const poller = (async () => {
      while (polling) {
        const started = performance.now();
        await Promise.all(markerSites.map((_, site) => pollSite(site)));
        await sleep(Math.max(0, TICK_MS - (performance.now() - started)));
      }
    })();

    progress(
      `load: ${rate} events/s for ${seconds} s over ${loadSites.length} sites; a marker every ${options.markerEveryMs} ms over ${markerSites.length} marker sites…`,
    );
    const inFlight = new Set<Promise<void>>();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let scheduled = 0;
    let slot = 0;
    let nextMarker = t0;
    for (let tick = 1; ; tick++) {
      const at = performance.now();
      if (at >= end) break;
      while (nextMarker <= at) {
        sendMarker(slot++);
        nextMarker += options.markerEveryMs;
      }
      let due = Math.floor((rate * (at - t0)) / 1000) - scheduled;
      // Never more than one second's worth in one go: a backlog the service did not take is dropped
      // (and reported), not fired as a burst.
      if (due > rate) {
        result.eventsNotSent += due - rate;
        scheduled += due - rate;
        due = rate;
      }
      while (due > 0 && inFlight.size < MAX_IN_FLIGHT) {
        const n = Math.min(due, MAX_BATCH);
        const bodies: EventInput[] = [];
        let first: { ip: string; userAgent: string } | undefined;
        for (let i = 0; i < n; i++) {
          const request = traffic.next();
          if (request.done) throw new Error('the traffic generator ran dry');
          const { body, sentAt, ip, userAgent } = request.value;
          first ??= { ip, userAgent };
          const lateness = typeof body.timestamp === 'number' ? sentAt - body.timestamp : 0;
          bodies.push({ ...body, timestamp: Date.now() - lateness });
        }
        const sent = post(bodies, first!);
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
        scheduled += n;
        due -= n;
      }
      await sleep(Math.max(0, t0 + tick * TICK_MS - performance.now()));
    }
    result.loadMs = performance.now() - t0;
    const scrape = () =>
      fetch(`${base}/metrics`).then(
        (r) => (r.ok ? r.text() : ''),
        () => '',
      );
    const atEnd = await scrape();
    result.lagAtEnd = metricValue(atEnd, 'sightline_speed_consumer_lag');
    result.spoolBytesAtEnd = metricValue(atEnd, 'sightline_ingest_spool_bytes');
    progress(`load done; waiting for ${inFlight.size} requests and the last markers…`);
    await Promise.allSettled([...inFlight]);
    // Where the acknowledged events became durable (ingest's counter, by its `stored` label).
    const settled = await scrape();
    const accepted = 'sightline_ingest_events_accepted_total';
    if (settled.includes(`# TYPE ${accepted} counter`)) {
      result.acceptedViaKafka = metricValue(settled, `${accepted}{stored="kafka"}`) ?? 0;
      result.acceptedViaSpool = metricValue(settled, `${accepted}{stored="spooled"}`) ?? 0;
    }

    const drainUntil = performance.now() + options.drainSeconds * 1000;
    for (;;) {
      const outstanding = markers.some((m) => m.ackAt === undefined);
      const uncounted = markers.some((m) => !Number.isNaN(m.ackAt) && m.countedAt === undefined);
      if ((!outstanding && !uncounted) || performance.now() > drainUntil) break;
      await sleep(TICK_MS);
    }
    polling = false;
    await poller;

    for (const m of markers) {
      if (m.ackAt === undefined || Number.isNaN(m.ackAt)) continue;
      result.markersAcked += 1;
      result.markerAck.push(m.ackAt! - m.sentAt);
      if (m.countedAt !== undefined) {
        result.markersCounted += 1;
        result.freshness.push(m.countedAt - m.ackAt!);
      }
    }
    result.requestP50 = percentile(requestMs, 0.5);
    result.requestP99 = percentile(requestMs, 0.99);
    return result;
  } finally {
    progress('stopping the service…');
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A sample's value from Prometheus text (`name{labels} value`), undefined when absent. */
function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
