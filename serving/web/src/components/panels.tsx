import { useState } from 'preact/hooks';
import { apiGet, type BreakdownAnswer, type Filter, metricsOfDimension, type Params } from '../api.js';
import { displayValue, format, metricInfo } from '../format.js';
import { useQuery } from '../use-query.js';
import { Empty, ErrorBox, Loading } from './status.js';

interface Tab {
  dimension: string;
  label: string;
}

interface PanelSpec {
  id: string;
  title: string;
  tabs: Tab[];
}

export const panels: PanelSpec[] = [
  {
    id: 'pages',
    title: 'Pages',
    tabs: [
      { dimension: 'page', label: 'Top pages' },
      { dimension: 'entry_page', label: 'Entry pages' },
      { dimension: 'exit_page', label: 'Exit pages' },
    ],
  },
  {
    id: 'sources',
    title: 'Sources',
    tabs: [
      { dimension: 'channel', label: 'Channels' },
      { dimension: 'referrer_source', label: 'Sources' },
      { dimension: 'utm_source', label: 'UTM source' },
      { dimension: 'utm_medium', label: 'UTM medium' },
      { dimension: 'utm_campaign', label: 'UTM campaign' },
      { dimension: 'utm_content', label: 'UTM content' },
      { dimension: 'utm_term', label: 'UTM term' },
    ],
  },
  { id: 'locations', title: 'Locations', tabs: [{ dimension: 'country', label: 'Countries' }] },
  {
    id: 'devices',
    title: 'Devices',
    tabs: [
      { dimension: 'browser', label: 'Browsers' },
      { dimension: 'os', label: 'Operating systems' },
      { dimension: 'device', label: 'Devices' },
    ],
  },
  {
    id: 'goals',
    title: 'Goals and events',
    tabs: [
      { dimension: 'goal', label: 'Goals' },
      { dimension: 'event_name', label: 'Events' },
      { dimension: 'prop', label: 'Props' },
    ],
  },
];

export const dimensionLabels: Record<string, string> = {
  page: 'Page',
  entry_page: 'Entry page',
  exit_page: 'Exit page',
  channel: 'Channel',
  referrer_source: 'Source',
  utm_source: 'UTM source',
  utm_medium: 'UTM medium',
  utm_campaign: 'UTM campaign',
  utm_content: 'UTM content',
  utm_term: 'UTM term',
  country: 'Country',
  browser: 'Browser',
  os: 'OS',
  device: 'Device',
  goal: 'Goal',
  event_name: 'Event',
};

export const labelOf = (dimension: string) =>
  dimensionLabels[dimension] ?? (dimension.startsWith('prop:') ? `Prop ${dimension.slice(5)}` : dimension);

/** The second column of a dimension: what its rows say besides visitors. */
function secondMetric(dimension: string): string {
  if (dimension === 'goal') return 'conversions';
  if (dimension === 'event_name' || dimension.startsWith('prop:')) return 'events';
  if (metricsOfDimension(dimension).includes('visits')) return 'visits';
  return 'pageviews';
}

interface PanelProps {
  spec: PanelSpec;
  tab: string | undefined;
  onTab: (dimension: string) => void;
  prop: string | undefined;
  onProp: (key: string | undefined) => void;
  apiKey: string;
  site: string;
  range: Params;
  filters: Filter[];
  onFilter: (dimension: string, value: string) => void;
  onClearFilters: () => void;
}

/** One breakdown panel: tabs of related dimensions, the top values, a click on one filters by it. */
export function Panel(props: PanelProps) {
  const { spec, filters } = props;
  const active = spec.tabs.find((t) => t.dimension === props.tab) ?? spec.tabs[0]!;
  const dimension =
    active.dimension === 'prop' ? (props.prop ? `prop:${props.prop}` : undefined) : active.dimension;
  const filterDim = filters[0]?.[1];
  const blocked = dimension !== undefined && filterDim !== undefined && filterDim !== dimension;
  const [limit, setLimit] = useState(10);
  const metrics = ['visitors', secondMetric(dimension ?? 'page')];
  const params: Params | undefined =
    dimension && !blocked
      ? {
          dimension,
          metrics: metrics.join(','),
          ...props.range,
          limit: String(limit),
          filters: filters.length ? JSON.stringify(filters) : undefined,
        }
      : undefined;
  const path = `/v1/sites/${encodeURIComponent(props.site)}/breakdown`;
  const [query, retry] = useQuery(params ? `${path}${JSON.stringify(params)}` : undefined, (signal) =>
    apiGet<BreakdownAnswer>(props.apiKey, path, params, signal),
  );
  const rows = query.data?.results ?? [];
  const top = Math.max(1, ...rows.map((r) => Number(r.visitors)));
  const tabId = (d: string) => `tab-${spec.id}-${d.replace(':', '-')}`;

  return (
    <section class="panel" aria-labelledby={`panel-${spec.id}`} data-panel={spec.id}>
      <header class="panel-head">
        <h2 id={`panel-${spec.id}`}>{spec.title}</h2>
        {spec.tabs.length > 1 && (
          <div class="tabs" role="tablist" aria-label={`${spec.title}: show`}>
            {spec.tabs.map((t) => (
              <button
                type="button"
                role="tab"
                key={t.dimension}
                id={tabId(t.dimension)}
                aria-selected={t === active}
                class={t === active ? 'tab active' : 'tab'}
                onClick={() => {
                  setLimit(10);
                  props.onTab(t.dimension);
                }}
              >
                {t.label}
              </button>
            ))}
          </div>
        )}
      </header>
      <div role="tabpanel" aria-labelledby={tabId(active.dimension)} data-dimension={dimension ?? ''}>
        {active.dimension === 'prop' && (
          <form
            class="prop-form"
            onSubmit={(e) => {
              e.preventDefault();
              const value = new FormData(e.currentTarget).get('prop');
              props.onProp(typeof value === 'string' && value.trim() ? value.trim() : undefined);
            }}
          >
            <label>
              Prop key <input name="prop" defaultValue={props.prop ?? ''} placeholder="e.g. plan" />
            </label>
            <button type="submit" class="button">
              Show
            </button>
          </form>
        )}
        {!dimension ? (
          <Empty>
            Type the name of a custom event prop (sent as props: {'{plan: "pro"}'}) to see its values.
          </Empty>
        ) : blocked ? (
          <Empty>
            <p>
              {labelOf(dimension)} can’t be shown while filtering by {labelOf(filterDim!).toLowerCase()}: the
              rollups keep each dimension apart.
            </p>
            <button type="button" class="button" onClick={props.onClearFilters}>
              Remove the filter
            </button>
          </Empty>
        ) : query.status === 'error' ? (
          <ErrorBox error={query.error} retry={retry} />
        ) : query.status === 'loading' && !query.data ? (
          <Loading what={labelOf(dimension).toLowerCase()} />
        ) : rows.length === 0 ? (
          <Empty>
            {dimension === 'goal'
              ? 'No goal reached in this range. An admin sets up goals per site (POST /v1/admin/sites/:site/goals); Events lists every custom event.'
              : `No ${labelOf(dimension).toLowerCase()} in this range. Try a longer range or remove a filter.`}
          </Empty>
        ) : (
          <table class="breakdown" aria-busy={query.status === 'loading'}>
            <thead>
              <tr>
                <th scope="col">{labelOf(dimension)}</th>
                {metrics.map((m) => (
                  <th scope="col" class="num" key={m}>
                    {metricInfo[m]?.label.replace(/^(Unique|Total) /, '') ?? m}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const text = displayValue(dimension, row.value);
                const width = `${(Number(row.visitors) / top) * 100}%`;
                return (
                  <tr key={row.value} data-value={row.value}>
                    <td>
                      <button
                        type="button"
                        class="row-button"
                        title={`Filter by ${labelOf(dimension).toLowerCase()}: ${text}`}
                        onClick={() => props.onFilter(dimension, row.value)}
                      >
                        <span class="bar" style={{ width }} />
                        <span class="row-label">{text}</span>
                      </button>
                    </td>
                    {metrics.map((m) => (
                      <td class="num" key={m} data-metric={m} data-value={row[m]}>
                        {format(m, Number(row[m] ?? 0))}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {query.data?.has_more && !blocked && (
          <button type="button" class="link more" onClick={() => setLimit((l) => Math.min(l * 5, 1000))}>
            Show more
          </button>
        )}
      </div>
    </section>
  );
}
