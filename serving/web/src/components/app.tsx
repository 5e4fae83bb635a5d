import { useEffect, useState } from 'preact/hooks';
import {
  type AggregateAnswer,
  apiGet,
  type Filter,
  metricsOfDimension,
  type Params,
  type Site,
  signsOut,
  type TimeseriesAnswer,
} from '../api.js';
import { cardMetrics, formatClock, formatTime, metricInfo } from '../format.js';
import { addDays, type RangeKey, rangeKeys, rangeLabels, resolveRange } from '../ranges.js';
import { forgetKey, keepKey, readKey } from '../session.js';
import { filterDimension, useUrlState, type ViewState } from '../state.js';
import { useQuery } from '../use-query.js';
import { Cards } from './cards.js';
import { FilterChips } from './filters.js';
import { MainChart } from './main-chart.js';
import { labelOf, Panel, panels } from './panels.js';
import { LiveBadge, Realtime } from './realtime.js';
import { SignIn } from './sign-in.js';
import { Empty, ErrorBox, Loading } from './status.js';

export function App() {
  const [key, setKey] = useState(readKey);
  const [notice, setNotice] = useState<string>();
  if (!key) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(k, remember) => {
          keepKey(k, remember);
          setNotice(undefined);
          setKey(k);
        }}
      />
    );
  }
  return (
    <Dashboard
      apiKey={key}
      onSignOut={(message) => {
        forgetKey();
        setNotice(message);
        setKey(undefined);
      }}
    />
  );
}

function Dashboard({ apiKey, onSignOut }: { apiKey: string; onSignOut: (message?: string) => void }) {
  const [state, update] = useUrlState();
  const [sitesQuery, retrySites] = useQuery('/v1/sites', (signal) =>
    apiGet<{ sites: Site[] }>(apiKey, '/v1/sites', {}, signal),
  );
  const sitesError = sitesQuery.status === 'error' ? sitesQuery.error : undefined;
  const refused = sitesError && signsOut(sitesError) ? sitesError : undefined;
  useEffect(() => {
    if (refused) onSignOut(refused.message);
  }, [refused]);
  const sites = sitesQuery.status === 'ok' ? sitesQuery.data.sites : undefined;
  const site = sites?.find((s) => s.site_id === state.site) ?? sites?.[0];
  useEffect(() => {
    // No site or one the key does not read in the address: show the first, without a history entry.
    if (site && site.site_id !== state.site) update({ site: site.site_id }, true);
  }, [site?.site_id, state.site]);
  if (sitesError) {
    const error = sitesError;
    if (refused) return null;
    return (
      <main class="page">
        <ErrorBox error={error} retry={retrySites} />
      </main>
    );
  }
  if (!sites) return <Loading what="your sites" />;
  if (!site) {
    return (
      <main class="page">
        <Empty>
          <p>
            This key reads no site yet. An admin creates one with <code>POST /v1/admin/sites</code> and a key
            for it with <code>POST /v1/admin/keys</code>.
          </p>
          <button type="button" class="button" onClick={() => onSignOut()}>
            Sign in with another key
          </button>
        </Empty>
      </main>
    );
  }
  return (
    <SiteDashboard
      apiKey={apiKey}
      sites={sites}
      site={site}
      state={state}
      update={update}
      onSignOut={onSignOut}
    />
  );
}

interface SiteProps {
  apiKey: string;
  sites: Site[];
  site: Site;
  state: ViewState;
  update: (patch: Partial<ViewState>, replace?: boolean) => void;
  onSignOut: (message?: string) => void;
}

function SiteDashboard({ apiKey, sites, site, state, update, onSignOut }: SiteProps) {
  const tz = site.timezone;
  const [notice, setNotice] = useState<string>();
  const range = resolveRange(state.range, tz, Date.now(), state.from, state.to);
  const filterDim = filterDimension(state.filters);
  const available = filterDim ? metricsOfDimension(filterDim) : Object.keys(metricInfo);
  const metric = available.includes(state.metric) ? state.metric : 'visitors';
  const interval = state.interval ?? range?.interval ?? 'day';
  const filtersParam = state.filters.length ? JSON.stringify(state.filters) : undefined;
  const rangeParams: Params = range ? { from: range.from, to: range.to } : {};
  const base = `/v1/sites/${encodeURIComponent(site.site_id)}`;

  const aggregateParams: Params = {
    metrics: cardMetrics.filter((m) => available.includes(m)).join(','),
    ...rangeParams,
    filters: filtersParam,
    compare: state.compare ? 'previous_period' : undefined,
  };
  const seriesParams: Params = {
    metrics: metric,
    interval,
    ...rangeParams,
    filters: filtersParam,
    compare: state.compare ? 'previous_period' : undefined,
  };
  const overview = state.view === 'overview' && range !== undefined;
  const [aggregate, retryAggregate] = useQuery(
    overview ? `${base}/aggregate${JSON.stringify(aggregateParams)}` : undefined,
    (signal) => apiGet<AggregateAnswer>(apiKey, `${base}/aggregate`, aggregateParams, signal),
  );
  const [series, retrySeries] = useQuery(
    overview ? `${base}/timeseries${JSON.stringify(seriesParams)}` : undefined,
    (signal) => apiGet<TimeseriesAnswer>(apiKey, `${base}/timeseries`, seriesParams, signal),
  );
  const refused = [aggregate, series]
    .map((q) => (q.status === 'error' ? q.error : undefined))
    .find((e) => e !== undefined && signsOut(e));
  useEffect(() => {
    if (refused) onSignOut(refused.message);
  }, [refused]);

  const addFilter = (dimension: string, value: string) => {
    const others = state.filters.some((f) => f[1] !== dimension);
    let filters: Filter[];
    if (others) {
      setNotice(
        `Filters combine within one dimension for now, so the ${labelOf(filterDim!).toLowerCase()} filter was replaced.`,
      );
      filters = [['is', dimension, [value]]];
    } else {
      setNotice(undefined);
      const is = state.filters.findIndex((f) => f[0] === 'is');
      filters =
        is === -1
          ? [...state.filters, ['is', dimension, [value]]]
          : state.filters.map((f, i) =>
              i === is && !f[2].includes(value) ? [f[0], f[1], [...f[2], value]] : f,
            );
    }
    update({ filters });
    scrollTo({ top: 0, behavior: 'smooth' });
  };

  const watermark = aggregate.data?.authoritative_until ?? series.data?.authoritative_until;
  return (
    <div class="page">
      <header class="top">
        <h1 class="brand">Sightline</h1>
        <label class="field">
          <span class="sr-only">Site</span>
          <select
            value={site.site_id}
            onChange={(e) => update({ site: e.currentTarget.value, filters: [], prop: undefined })}
            aria-label="Site"
          >
            {sites.map((s) => (
              <option key={s.site_id} value={s.site_id}>
                {s.domain}
              </option>
            ))}
          </select>
        </label>
        {state.view === 'overview' ? (
          <LiveBadge apiKey={apiKey} site={site.site_id} onOpen={() => update({ view: 'realtime' })} />
        ) : (
          <button type="button" class="button" onClick={() => update({ view: 'overview' })}>
            ← Back to the overview
          </button>
        )}
        <button type="button" class="link sign-out" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>

      {state.view === 'realtime' ? (
        <main>
          <Realtime apiKey={apiKey} site={site.site_id} tz={tz} />
        </main>
      ) : (
        <main>
          <RangeControls state={state} update={update} tz={tz} />
          <p class="freshness" data-testid="freshness">
            {freshness(watermark, tz)}
          </p>
          {notice && (
            <p class="notice" role="status">
              {notice}
            </p>
          )}
          <FilterChips
            filters={state.filters}
            onRemove={(i) => update({ filters: state.filters.filter((_, j) => j !== i) })}
            onClear={() => update({ filters: [] })}
          />
          {!range ? (
            <Empty>
              Pick the first and the last day of the custom range (the last on or after the first).
            </Empty>
          ) : (
            <>
              <Cards
                query={aggregate}
                retry={retryAggregate}
                available={available}
                filterDimension={filterDim ? labelOf(filterDim).toLowerCase() : undefined}
                selected={metric}
                onSelect={(m) => update({ metric: m })}
              />
              {aggregate.data?.warnings?.length ? (
                <p class="muted note">
                  Visits, bounce rate, views per visit and duration come from the batch layer: hours not yet
                  authoritative add nothing to them.
                </p>
              ) : null}
              <section class="chart-card" aria-label="Chart">
                <div class="chart-head">
                  <h2>
                    {metricInfo[metric]?.label} by {interval}
                  </h2>
                  <fieldset class="segmented">
                    <legend class="sr-only">Bucket size</legend>
                    {(['hour', 'day'] as const).map((i) => (
                      <button
                        type="button"
                        key={i}
                        aria-pressed={interval === i}
                        class={interval === i ? 'active' : ''}
                        onClick={() => update({ interval: i })}
                      >
                        {i === 'hour' ? 'Hours' : 'Days'}
                      </button>
                    ))}
                  </fieldset>
                </div>
                {series.status === 'error' ? (
                  <ErrorBox error={series.error} retry={retrySeries} />
                ) : series.data ? (
                  <MainChart answer={series.data} metric={metric} interval={interval} tz={tz} />
                ) : (
                  <Loading what="the chart" />
                )}
                {series.data && series.status === 'ok' && series.data.results.every((r) => !r[metric]) && (
                  <p class="muted note">
                    Nothing in this range yet. Pick a longer range, or check that the tracker is on your
                    pages.
                  </p>
                )}
              </section>
              <div class="panels">
                {panels.map((spec) => (
                  <Panel
                    key={spec.id}
                    spec={spec}
                    tab={state.tabs[spec.id]}
                    onTab={(d) => update({ tabs: { ...state.tabs, [spec.id]: d } }, true)}
                    prop={state.prop}
                    onProp={(p) => update({ prop: p })}
                    apiKey={apiKey}
                    site={site.site_id}
                    range={rangeParams}
                    filters={state.filters}
                    onFilter={addFilter}
                    onClearFilters={() => update({ filters: [] })}
                  />
                ))}
              </div>
            </>
          )}
        </main>
      )}
      <footer class="foot muted">
        Times in {tz}. Numbers from the query API (<a href="/docs">/docs</a>).
      </footer>
    </div>
  );
}

function freshness(watermark: string | null | undefined, tz: string): string {
  if (watermark === undefined) return '\u00a0';
  if (watermark === null) return 'Nothing is authoritative yet: every number is live and may still change.';
  const at = Date.parse(watermark);
  return `Authoritative through ${formatTime(at, tz, true)}, live since ${formatClock(at, tz)}: the live numbers may still change.`;
}

function RangeControls({
  state,
  update,
  tz,
}: {
  state: ViewState;
  update: (patch: Partial<ViewState>) => void;
  tz: string;
}) {
  return (
    <div class="controls">
      <label class="field">
        <span>Range</span>
        <select
          value={state.range}
          data-testid="range"
          onChange={(e) => {
            const range = e.currentTarget.value as RangeKey;
            const patch: Partial<ViewState> = { range, interval: undefined };
            if (range === 'custom' && !state.from) {
              // Start a custom range from the last 7 days, which the reader then edits.
              const week = resolveRange('7d', tz, Date.now())!;
              patch.from = week.from;
              patch.to = addDays(week.to, -1);
            }
            update(patch);
          }}
        >
          {rangeKeys.map((k) => (
            <option key={k} value={k}>
              {rangeLabels[k]}
            </option>
          ))}
        </select>
      </label>
      {state.range === 'custom' && (
        <>
          <label class="field">
            <span>From</span>
            <input
              type="date"
              value={state.from ?? ''}
              onChange={(e) => update({ from: e.currentTarget.value })}
            />
          </label>
          <label class="field">
            <span>To</span>
            <input
              type="date"
              value={state.to ?? ''}
              onChange={(e) => update({ to: e.currentTarget.value })}
            />
          </label>
        </>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={state.compare}
          onChange={(e) => update({ compare: e.currentTarget.checked })}
        />{' '}
        Compare with the previous period
      </label>
    </div>
  );
}
