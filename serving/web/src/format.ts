/** How numbers read on the dashboard; the exact value goes into a title and a data attribute. */

export type MetricKind = 'count' | 'decimal' | 'percent' | 'duration' | 'money';

export interface MetricInfo {
  key: string;
  label: string;
  kind: MetricKind;
  /** A rise is bad news (bounce rate). */
  lowerIsBetter?: boolean;
  /** Computed by the batch layer only: hours after authoritative_until have none. */
  batchOnly?: boolean;
}

export const metricInfo: Record<string, MetricInfo> = {
  visitors: { key: 'visitors', label: 'Unique visitors', kind: 'count' },
  visits: { key: 'visits', label: 'Total visits', kind: 'count', batchOnly: true },
  pageviews: { key: 'pageviews', label: 'Total pageviews', kind: 'count' },
  views_per_visit: { key: 'views_per_visit', label: 'Views per visit', kind: 'decimal', batchOnly: true },
  bounce_rate: {
    key: 'bounce_rate',
    label: 'Bounce rate',
    kind: 'percent',
    lowerIsBetter: true,
    batchOnly: true,
  },
  visit_duration: { key: 'visit_duration', label: 'Visit duration', kind: 'duration', batchOnly: true },
  events: { key: 'events', label: 'Events', kind: 'count' },
  conversions: { key: 'conversions', label: 'Conversions', kind: 'count', batchOnly: true },
  revenue: { key: 'revenue', label: 'Revenue', kind: 'money' },
};

/** The top cards, in order. */
export const cardMetrics = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
];

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const plain = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatMetric(kind: MetricKind, value: number): string {
  switch (kind) {
    case 'count':
      return value < 10_000 ? plain.format(value) : compact.format(value);
    case 'decimal':
      return plain.format(value);
    case 'percent':
      return `${plain.format(value)}%`;
    case 'duration':
      return formatDuration(value);
    case 'money':
      return plain.format(value);
  }
}

export const format = (metric: string, value: number) =>
  formatMetric(metricInfo[metric]?.kind ?? 'count', value);

/** Date and time in the site's zone: "Nov 26, 14:00" or "Nov 26" for day buckets. */
export function formatTime(ms: number, tz: string, withHour: boolean): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    month: 'short',
    day: 'numeric',
    ...(withHour ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } : {}),
  }).format(ms);
}

export function formatClock(ms: number, tz: string, seconds = false): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
    hourCycle: 'h23',
  }).format(ms);
}

const regions =
  typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : undefined;

/** A breakdown value as a person reads it: country codes get their names, empty values say so. */
export function displayValue(dimension: string, value: string): string {
  if (value === '')
    return dimension === 'referrer_source' || dimension === 'channel' ? 'Direct / none' : '(none)';
  if (dimension === 'channel') return value.charAt(0).toUpperCase() + value.slice(1).replaceAll('_', ' ');
  if (dimension === 'country' && /^[A-Z]{2}$/.test(value)) {
    try {
      return regions?.of(value) ?? value;
    } catch {
      return value;
    }
  }
  return value;
}
