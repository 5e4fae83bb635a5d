import type { Logger } from '@sightline/core';
import type { StreamStatus } from './stream-status.js';

export interface LagMonitorOptions {
  status: () => Promise<StreamStatus>;
  /** Lag (messages not yet committed by the consuming group) above which the alert line is logged. */
  thresholdMessages: number;
  intervalMs: number;
  logger: Logger;
  /**
   * Seconds the oldest event in ingest's spool has waited. Those events are not in Kafka yet, so the
   * consumer lag reads 0 while they wait; this is the delay it cannot show. Read even when the stream
   * status fails, since a Kafka outage is when ingest spools.
   */
  spoolAgeSeconds?: () => number;
  /** Spool age above which the alert line is logged. */
  spoolAgeThresholdSeconds?: number;
  /** Every reading, e.g. for the /metrics gauges, so they and the alert come from one poll. */
  onStatus?: (status: StreamStatus) => void;
}

/**
 * Polls the stream status and logs transitions only, so an alert rule can match one line per
 * incident: a warn when lag (or the age of ingest's spool) crosses its threshold, an info when it is
 * back under, an error each time the dead-letter count grows. The first dead-letter reading is the baseline, so a restart
 * does not re-announce old dead letters. Polls never overlap: the next one is scheduled after the
 * previous one finished. Returns stop(), which waits for a poll in flight.
 */
export function startLagMonitor(options: LagMonitorOptions): () => Promise<void> {
  const { thresholdMessages: threshold, intervalMs, logger } = options;
  let lagging = false;
  let spoolDelayed = false;
  let statusFailing = false;
  let deadLetters: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const checkSpool = () => {
    const { spoolAgeSeconds, spoolAgeThresholdSeconds: limit = 60 } = options;
    if (!spoolAgeSeconds) return;
    const age = Math.round(spoolAgeSeconds());
    if (age > limit && !spoolDelayed) {
      logger.warn(
        { spoolAgeSeconds: age, threshold: limit },
        `events have waited ${age} s in ingest's spool for Kafka, over the threshold of ${limit} s`,
      );
    } else if (age <= limit && spoolDelayed) {
      logger.info(
        { spoolAgeSeconds: age, threshold: limit },
        `ingest's spool delay is back under ${limit} s`,
      );
    }
    spoolDelayed = age > limit;
  };

  const check = async () => {
    checkSpool();
    let status: StreamStatus;
    try {
      status = await options.status();
    } catch (err) {
      if (!statusFailing) logger.warn({ err }, 'stream status unavailable; lag is unknown');
      statusFailing = true;
      return;
    }
    if (statusFailing) logger.info('stream status available again');
    statusFailing = false;
    options.onStatus?.(status);

    const { lag } = status;
    if (lag > threshold && !lagging) {
      logger.warn({ lag, threshold }, `consumer lag ${lag} exceeds threshold ${threshold}`);
    } else if (lag <= threshold && lagging) {
      logger.info({ lag, threshold }, `consumer lag ${lag} is back under threshold ${threshold}`);
    }
    lagging = lag > threshold;

    if (deadLetters !== undefined && status.deadLetters > deadLetters) {
      const added = status.deadLetters - deadLetters;
      logger.error(
        { deadLetters: status.deadLetters, added },
        `${added} new dead-letter message(s), ${status.deadLetters} in events_dead_letter`,
      );
    }
    // Also follows the count down when old dead letters expire (TTL), so new ones still show.
    deadLetters = status.deadLetters;
  };

  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      inFlight = check()
        .catch((err) => logger.error({ err }, 'lag monitor check failed'))
        .finally(() => {
          if (!stopped) schedule(intervalMs);
        });
    }, delay);
    // A monitor alone never keeps the process alive.
    timer.unref();
  };
  schedule(0);

  return async () => {
    stopped = true;
    clearTimeout(timer);
    await inFlight;
  };
}
