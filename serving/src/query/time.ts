import { z } from 'zod';

export const HOUR_MS = 3600_000;
export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export const intervals = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type Interval = (typeof intervals)[number];

/** A range bound as given: a calendar date (midnight in the query's time zone) or an instant. */
export type TimeInput = { date: string } | { instant: number };

export const timeInputSchema = z.union(
  [
    z.iso.date().transform((date): TimeInput => ({ date })),
    z.iso.datetime({ offset: true }).transform((d): TimeInput => ({ instant: Date.parse(d) })),
  ],
  {
    error: (issue) =>
      issue.input === undefined ? 'required' : 'must be YYYY-MM-DD or ISO 8601 with a time zone',
  },
);

const zones = new Set(Intl.supportedValuesOf('timeZone'));
export const timeZoneSchema = z
  .string()
  .refine((tz) => tz === 'UTC' || zones.has(tz), 'must be an IANA time zone such as Europe/Berlin');

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms, as Intl tells it (slow: a formatToParts call). */
function readOffsetMs(ms: number, tz: string): number {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  const local = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}Z`;
  return Date.parse(local) - Math.floor(ms / 1000) * 1000;
}

const MAX_OFFSETS_PER_ZONE = 100_000;
const offsets = new Map<string, Map<number, number>>();

/**
 * The zone's offset from UTC at an instant, in ms. Kept per zone and instant: answers label the same
 * hours again and again (a 30-day hourly series is 720 labels), and asking Intl costs about 5 µs each.
 */
function offsetMs(ms: number, tz: string): number {
  let zone = offsets.get(tz);
  if (!zone) {
    zone = new Map();
    offsets.set(tz, zone);
  }
  let offset = zone.get(ms);
  if (offset === undefined) {
    if (zone.size >= MAX_OFFSETS_PER_ZONE) zone.clear();
    offset = readOffsetMs(ms, tz);
    zone.set(ms, offset);
  }
  return offset;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** An instant as local time with its offset: 2026-03-29T00:00:00+01:00 (Z where the offset is 0). */
export function formatInZone(ms: number, tz: string): string {
  const offset = offsetMs(ms, tz);
  const local = new Date(Math.floor(ms / 1000) * 1000 + offset).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset) / 1000;
  const seconds = abs % 60;
  const hhmm = `${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 3600))}:${pad2(Math.floor(abs / 60) % 60)}`;
  return `${local}${hhmm}${seconds ? `:${pad2(seconds)}` : ''}`;
}

const MAX_LABEL_RUNS = 64;
const labelRuns = new Map<string, readonly string[]>();

/**
 * formatInZone of every unit from `first` to `last` (epoch ms, inclusive), kept for the next request
 * over the same units: a 30-day hourly series is 720 labels, and dashboards ask the same ranges.
 */
export function unitLabels(first: number, last: number, unit: number, tz: string): readonly string[] {
  const key = `${first} ${last} ${unit} ${tz}`;
  let labels = labelRuns.get(key);
  if (!labels) {
    const made: string[] = [];
    for (let t = first; t <= last; t += unit) made.push(formatInZone(t, tz));
    if (labelRuns.size >= MAX_LABEL_RUNS) labelRuns.clear();
    labelRuns.set(key, made);
    labels = made;
  }
  return labels;
}

/**
 * Midnight of a calendar date in a zone. Two passes: the offset at the first guess can differ
 * from the offset at the answer when a DST change lies between them.
 */
export function localMidnight(date: string, tz: string): number {
  const wall = Date.parse(`${date}T00:00:00Z`);
  const first = wall - offsetMs(wall, tz);
  return wall - offsetMs(first, tz);
}

export function toInstant(t: TimeInput, tz: string): number {
  return 'date' in t ? localMidnight(t.date, tz) : t.instant;
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The period of the same length just before [from, to): the same number of calendar days when
 * both bounds are dates (so a DST change in either period does not shift the buckets), else the
 * same number of milliseconds.
 */
export function previousPeriod(
  from: TimeInput,
  to: TimeInput,
  tz: string,
): { from: TimeInput; to: TimeInput } {
  if ('date' in from && 'date' in to) {
    const days = Math.round((Date.parse(to.date) - Date.parse(from.date)) / DAY_MS);
    return { from: { date: addDays(from.date, -days) }, to: { date: from.date } };
  }
  const start = toInstant(from, tz);
  const length = toInstant(to, tz) - start;
  return { from: { instant: start - length }, to: { instant: start } };
}

/**
 * The rollup units (UTC hours, or minutes for the minute interval) a range covers: those whose start
 * falls in [from, to). An hour belongs to the bucket its start falls in; in zones whose offset is
 * not a whole number of hours (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) a local day therefore
 * runs from 00:30 (00:15) to 00:30 (00:15) of the next day, since the rollups are hourly.
 */
export interface UnitRange {
  /** Epoch ms of the first unit's start. */
  first: number;
  /** Epoch ms of the last unit's start (inclusive). */
  last: number;
}

export function unitRange(fromMs: number, toMs: number, unitMs: number): UnitRange | null {
  const first = Math.ceil(fromMs / unitMs) * unitMs;
  const last = Math.ceil(toMs / unitMs) * unitMs - unitMs;
  return last >= first ? { first, last } : null;
}
