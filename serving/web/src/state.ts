import { useEffect, useRef, useState } from 'preact/hooks';
import type { Filter, FilterOperator } from './api.js';
import { type RangeKey, rangeKeys } from './ranges.js';

/** Everything a view shows is in the URL, so a view can be shared and the back button works. */
export interface ViewState {
  site: string | undefined;
  range: RangeKey;
  /** Custom range: first and last day shown (inclusive). */
  from: string | undefined;
  to: string | undefined;
  compare: boolean;
  metric: string;
  interval: 'hour' | 'day' | undefined;
  filters: Filter[];
  view: 'overview' | 'realtime';
  /** The selected tab of each breakdown panel, by panel id. */
  tabs: Record<string, string>;
  /** The custom prop key whose values the props tab shows. */
  prop: string | undefined;
}

const operators: FilterOperator[] = ['is', 'is_not', 'contains', 'contains_not', 'matches', 'matches_not'];

function parseFilters(raw: string | null): Filter[] {
  if (!raw) return [];
  try {
    const value = JSON.parse(raw) as unknown;
    if (!Array.isArray(value)) return [];
    return value.filter(
      (f): f is Filter =>
        Array.isArray(f) &&
        f.length === 3 &&
        operators.includes(f[0]) &&
        typeof f[1] === 'string' &&
        Array.isArray(f[2]) &&
        f[2].every((v: unknown) => typeof v === 'string'),
    );
  } catch {
    return [];
  }
}

export function parseState(search: string): ViewState {
  const p = new URLSearchParams(search);
  const range = p.get('range') as RangeKey | null;
  const interval = p.get('interval');
  const tabs: Record<string, string> = {};
  for (const [name, value] of p) if (name.startsWith('tab.')) tabs[name.slice(4)] = value;
  return {
    site: p.get('site') ?? undefined,
    range: range && rangeKeys.includes(range) ? range : '7d',
    from: p.get('from') ?? undefined,
    to: p.get('to') ?? undefined,
    compare: p.get('compare') === '1',
    metric: p.get('metric') ?? 'visitors',
    interval: interval === 'hour' || interval === 'day' ? interval : undefined,
    filters: parseFilters(p.get('filters')),
    view: p.get('view') === 'realtime' ? 'realtime' : 'overview',
    tabs,
    prop: p.get('prop') ?? undefined,
  };
}

export function toSearch(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.site) p.set('site', s.site);
  if (s.view !== 'overview') p.set('view', s.view);
  p.set('range', s.range);
  if (s.range === 'custom') {
    if (s.from) p.set('from', s.from);
    if (s.to) p.set('to', s.to);
  }
  if (s.compare) p.set('compare', '1');
  if (s.metric !== 'visitors') p.set('metric', s.metric);
  if (s.interval) p.set('interval', s.interval);
  if (s.filters.length) p.set('filters', JSON.stringify(s.filters));
  for (const [panel, tab] of Object.entries(s.tabs)) p.set(`tab.${panel}`, tab);
  if (s.prop) p.set('prop', s.prop);
  return `?${p}`;
}

/** The view state and a setter that records each change in the browser history. */
export function useUrlState(): [ViewState, (patch: Partial<ViewState>, replace?: boolean) => void] {
  const [state, setState] = useState(() => parseState(location.search));
  // The latest state, so that two changes in one event both count.
  const latest = useRef(state);
  useEffect(() => {
    const onPop = () => {
      latest.current = parseState(location.search);
      setState(latest.current);
    };
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const update = (patch: Partial<ViewState>, replace = false) => {
    const next = { ...latest.current, ...patch };
    latest.current = next;
    const url = `${location.pathname}${toSearch(next)}`;
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    setState(next);
  };
  return [state, update];
}

/** The one dimension the filters are on (the API combines filters within one dimension only). */
export function filterDimension(filters: Filter[]): string | undefined {
  return filters[0]?.[1];
}
