import { apiGet, type RealtimeAnswer } from '../api.js';
import { formatClock } from '../format.js';
import { useQuery } from '../use-query.js';
import { Empty, ErrorBox, Loading } from './status.js';

export const REALTIME_REFRESH_MS = 10_000;

/** Current visitors and the last 30 minutes, one bar a minute, refreshed every 10 seconds. */
export function Realtime({ apiKey, site, tz }: { apiKey: string; site: string; tz: string }) {
  const path = `/v1/sites/${encodeURIComponent(site)}/realtime`;
  const [query, retry] = useQuery(
    path,
    async (signal) => ({ answer: await apiGet<RealtimeAnswer>(apiKey, path, {}, signal), at: Date.now() }),
    REALTIME_REFRESH_MS,
  );
  if (query.status === 'error' && !query.data) return <ErrorBox error={query.error} retry={retry} />;
  if (!query.data) return <Loading what="realtime visitors" />;
  const { answer, at } = query.data;
  const top = Math.max(1, ...answer.minutes.map((m) => m.pageviews ?? 0));
  const total = answer.minutes.reduce((sum, m) => sum + (m.pageviews ?? 0), 0);
  return (
    <section class="realtime" aria-label="Realtime">
      {query.status === 'error' && <ErrorBox error={query.error} retry={retry} />}
      <div class="realtime-now">
        <span class="pulse" aria-hidden="true" />
        <strong data-testid="current-visitors" data-value={answer.current_visitors}>
          {answer.current_visitors}
        </strong>{' '}
        current visitor{answer.current_visitors === 1 ? '' : 's'}
        <span class="muted"> (last 5 minutes) · updated {formatClock(at, tz, true)}, every 10 s</span>
      </div>
      <h2>Pageviews, last 30 minutes</h2>
      {total === 0 ? (
        <Empty>
          Nothing in the last 30 minutes. Is the tracker on your pages? Add{' '}
          <code>
            &lt;script defer src="{location.origin}/t.js" data-site="{site}"&gt;&lt;/script&gt;
          </code>
        </Empty>
      ) : null}
      <ol class="bars" data-testid="realtime-bars" aria-label="Pageviews per minute">
        {answer.minutes.map((m) => {
          const time = formatClock(Date.parse(m.time), tz);
          const label = `${time}: ${m.pageviews} pageviews, ${m.visitors} visitors`;
          return (
            <li key={m.time} title={label} data-pageviews={m.pageviews}>
              <span class="bar-fill" style={{ height: `${((m.pageviews ?? 0) / top) * 100}%` }} />
              <span class="sr-only">{label}</span>
            </li>
          );
        })}
      </ol>
      <div class="bars-axis" aria-hidden="true">
        <span>30 min ago</span>
        <span>now</span>
      </div>
    </section>
  );
}

/** The header's live count: a button that opens the realtime view. */
export function LiveBadge({ apiKey, site, onOpen }: { apiKey: string; site: string; onOpen: () => void }) {
  const path = `/v1/sites/${encodeURIComponent(site)}/realtime`;
  const [query] = useQuery(path, (signal) => apiGet<RealtimeAnswer>(apiKey, path, {}, signal), 30_000);
  const n = query.data?.current_visitors;
  return (
    <button type="button" class="live-badge" onClick={onOpen} data-testid="open-realtime">
      <span class="pulse" aria-hidden="true" />
      {n === undefined ? 'Realtime' : `${n} current visitor${n === 1 ? '' : 's'}`}
    </button>
  );
}
