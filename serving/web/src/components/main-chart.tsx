import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { TimeseriesAnswer } from '../api.js';
import { format, formatClock, formatTime, metricInfo } from '../format.js';

const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;

const H = 3600;
const HOUR_INCREMENTS = [H, 2 * H, 3 * H, 4 * H, 6 * H, 12 * H, 24 * H, 48 * H, 168 * H];
const DAY_INCREMENTS = [24 * H, 48 * H, 168 * H, 336 * H, 720 * H];

/** An hour tick reads "14:00", except at midnight, where the date says which day starts. */
function tickLabel(ms: number, tz: string, withHour: boolean): string {
  const clock = formatClock(ms, tz);
  return withHour && clock !== '00:00' ? clock : formatTime(ms, tz, false);
}

export interface ChartSeries {
  /** Bucket starts, epoch seconds. */
  x: number[];
  /** Authoritative buckets (null after them), the live ones (dashed, from the last authoritative one on). */
  authoritative: (number | null)[];
  live: (number | null)[];
  comparison: (number | null)[] | undefined;
  comparisonTimes: number[] | undefined;
  /** Index of the first bucket not wholly authoritative; x.length when none. */
  liveFrom: number;
}

/**
 * Splits the answer into a solid authoritative series and a dashed live one: a bucket is live when
 * it ends after authoritative_until (a day bucket can be part batch, part speed). The live series
 * starts at the last authoritative point, so the line runs on. Batch-only metrics have nothing in
 * live buckets, so there they stay empty rather than drop to zero.
 */
export function chartSeries(
  answer: TimeseriesAnswer,
  metric: string,
  interval: 'hour' | 'day',
  now = Date.now(),
): ChartSeries {
  const starts = answer.results.map((r) => Date.parse(r.time));
  const until = answer.authoritative_until
    ? Date.parse(answer.authoritative_until)
    : Number.NEGATIVE_INFINITY;
  const ends = starts.map((s, i) => starts[i + 1] ?? s + BUCKET_MS[interval]);
  let liveFrom = ends.findIndex((end) => end > until);
  if (liveFrom === -1) liveFrom = starts.length;
  // Buckets that have not started yet (the rest of today) stay empty instead of drawing zeros.
  const values = answer.results.map((r, i) => (starts[i]! > now ? null : Number(r[metric] ?? 0)));
  const batchOnly = metricInfo[metric]?.batchOnly ?? false;
  return {
    x: starts.map((s) => s / 1000),
    authoritative: values.map((v, i) => (i < liveFrom ? v : null)),
    live: values.map((v, i) => (!batchOnly && liveFrom < values.length && i >= liveFrom - 1 ? v : null)),
    comparison: answer.comparison?.results.map((r) => Number(r[metric] ?? 0)),
    comparisonTimes: answer.comparison?.results.map((r) => Date.parse(r.time)),
    liveFrom,
  };
}

interface Props {
  answer: TimeseriesAnswer;
  metric: string;
  interval: 'hour' | 'day';
  tz: string;
}

export function MainChart({ answer, metric, interval, tz }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const tip = useRef<HTMLDivElement>(null);
  const series = chartSeries(answer, metric, interval);
  const label = metricInfo[metric]?.label ?? metric;

  useEffect(() => {
    const el = box.current;
    const tipEl = tip.current;
    if (!el || !tipEl) return;
    const withHour = interval === 'hour';
    const showTip = (u: uPlot) => {
      const i = u.cursor.idx;
      if (i === null || i === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
        tipEl.hidden = true;
        return;
      }
      const value = series.authoritative[i] ?? series.live[i];
      const lines = [
        `<strong>${formatTime(series.x[i]! * 1000, tz, withHour)}</strong>`,
        `${label}: ${value === null || value === undefined ? '—' : format(metric, value)}${i >= series.liveFrom ? ' <em>(live)</em>' : ''}`,
      ];
      const prev = series.comparison?.[i];
      const prevTime = series.comparisonTimes?.[i];
      if (prev !== undefined && prev !== null && prevTime !== undefined) {
        lines.push(`${formatTime(prevTime, tz, withHour)}: ${format(metric, prev)}`);
      }
      tipEl.innerHTML = lines.join('<br>');
      tipEl.hidden = false;
      const left = Math.min(u.cursor.left + 12, u.over.clientWidth - tipEl.offsetWidth);
      tipEl.style.transform = `translate(${Math.max(0, left)}px, ${(u.cursor.top ?? 0) + 8}px)`;
    };
    const data: uPlot.AlignedData = [
      series.x,
      series.authoritative,
      series.live,
      ...(series.comparison ? [series.comparison] : []),
    ];
    const stroke = '#4f46e5';
    const options: uPlot.Options = {
      width: el.clientWidth,
      height: 260,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
      legend: { show: false },
      cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          stroke: '#555',
          grid: { show: false },
          ticks: { show: false },
          incrs: withHour ? HOUR_INCREMENTS : DAY_INCREMENTS,
          values: (_u, splits) => splits.map((t) => tickLabel(t * 1000, tz, withHour)),
        },
        {
          stroke: '#555',
          grid: { stroke: '#eee' },
          ticks: { show: false },
          size: 56,
          values: (_u, splits) => splits.map((v) => format(metric, v)),
        },
      ],
      series: [
        {},
        { label, stroke, width: 2, fill: 'rgba(79,70,229,0.08)', points: { show: series.x.length < 60 } },
        { label: `${label} (live)`, stroke, width: 2, dash: [6, 5], points: { show: false } },
        ...(series.comparison
          ? [{ label: `${label} (previous period)`, stroke: '#9ca3af', width: 1.5, points: { show: false } }]
          : []),
      ],
      hooks: { setCursor: [showTip] },
    };
    const plot = new uPlot(options, data, el);
    plot.over.appendChild(tipEl);
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      el.parentElement?.appendChild(tipEl);
      plot.destroy();
    };
  }, [answer, metric, interval, tz]);

  const points = series.x.map((x, i) => {
    const v = series.authoritative[i] ?? series.live[i];
    return `${formatTime(x * 1000, tz, interval === 'hour')}: ${v === null || v === undefined ? 'none' : format(metric, v)}`;
  });
  return (
    <figure class="chart" aria-label={`${label} by ${interval}`}>
      <div ref={box} class="chart-plot" data-testid="main-chart" data-live-from={series.liveFrom} />
      <div ref={tip} class="chart-tip" hidden />
      <figcaption class="chart-legend">
        <span class="key solid">{label}</span>
        {series.liveFrom < series.x.length && <span class="key dashed">live (not yet authoritative)</span>}
        {series.comparison && <span class="key previous">previous period</span>}
      </figcaption>
      <details class="chart-table">
        <summary>Values as a list</summary>
        <ul>
          {points.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      </details>
    </figure>
  );
}
