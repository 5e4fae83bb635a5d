import type { AggregateAnswer } from '../api.js';
import { cardMetrics, format, metricInfo } from '../format.js';
import type { QueryState } from '../use-query.js';
import { ErrorBox } from './status.js';

interface Props {
  query: QueryState<AggregateAnswer>;
  retry: () => void;
  available: string[];
  filterDimension: string | undefined;
  selected: string;
  onSelect: (metric: string) => void;
}

function Change({ metric, change }: { metric: string; change: number | null | undefined }) {
  if (change === undefined) return null;
  if (change === null) return <span class="change">new</span>;
  const good = metricInfo[metric]?.lowerIsBetter ? change < 0 : change > 0;
  const arrow = change > 0 ? '↑' : change < 0 ? '↓' : '';
  return (
    <span class={`change ${change === 0 ? '' : good ? 'good' : 'bad'}`} data-change={change}>
      {arrow}
      {Math.abs(change)}%<span class="sr-only"> against the previous period</span>
    </span>
  );
}

/** Visitors, visits, pageviews, views per visit, bounce rate, duration; a card picks the chart's metric. */
export function Cards({ query, retry, available, filterDimension, selected, onSelect }: Props) {
  const results = query.data?.results;
  return (
    <section class="cards-wrap" aria-label="Totals" aria-busy={query.status === 'loading'}>
      {query.status === 'error' && <ErrorBox error={query.error} retry={retry} />}
      <div class="cards">
        {cardMetrics.map((metric) => {
          const info = metricInfo[metric]!;
          const usable = available.includes(metric);
          const result = results?.[metric];
          return (
            <button
              type="button"
              key={metric}
              class={`card ${selected === metric ? 'selected' : ''}`}
              aria-pressed={selected === metric}
              disabled={!usable}
              data-metric={metric}
              data-value={result?.value}
              onClick={() => onSelect(metric)}
              title={
                usable
                  ? `Show ${info.label.toLowerCase()} in the chart`
                  : `Not kept per ${filterDimension}: remove the filter to see it`
              }
            >
              <span class="card-label">{info.label}</span>
              <span class="card-value">
                {!usable ? '—' : result ? format(metric, result.value) : <span class="skeleton">&nbsp;</span>}
              </span>
              {usable && result && <Change metric={metric} change={result.change} />}
              {!usable && <span class="card-note">not with a {filterDimension} filter</span>}
            </button>
          );
        })}
      </div>
    </section>
  );
}
