const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Quietest hour (UTC) and busiest hour: traffic climbs slowly through the day, falls fast at night. */
const TROUGH_HOUR = 4;
const PEAK_HOUR = 20;
/** Night-time traffic as a share of the evening peak. */
export const TROUGH_SHARE = 0.2;

const RISE_HOURS = (PEAK_HOUR - TROUGH_HOUR + 24) % 24;
const FALL_HOURS = 24 - RISE_HOURS;

/**
 * Traffic at a moment as a share of the peak-hour rate, in [TROUGH_SHARE, 1]. Cosine ramps keep
 * it smooth (no step at an hour boundary for rollups to show as an artefact). One cycle in UTC
 * for all sites: the generator has no per-site time zone.
 */
export function dailyShare(epochMs: number): number {
  const hour = (((epochMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  const sinceTrough = (hour - TROUGH_HOUR + 24) % 24;
  const phase =
    sinceTrough <= RISE_HOURS ? sinceTrough / RISE_HOURS : 1 - (sinceTrough - RISE_HOURS) / FALL_HOURS;
  return TROUGH_SHARE + ((1 - TROUGH_SHARE) * (1 - Math.cos(Math.PI * phase))) / 2;
}
