import type { Filter } from '../api.js';
import { displayValue } from '../format.js';
import { dimensionLabels } from './panels.js';

const operatorLabels: Record<string, string> = {
  is: 'is',
  is_not: 'is not',
  contains: 'contains',
  contains_not: 'does not contain',
  matches: 'matches',
  matches_not: 'does not match',
};

/** The active filters as chips; each one's button removes it. */
export function FilterChips({
  filters,
  onRemove,
  onClear,
}: {
  filters: Filter[];
  onRemove: (index: number) => void;
  onClear: () => void;
}) {
  if (filters.length === 0) return null;
  return (
    <ul class="chips" aria-label="Filters">
      {filters.map(([op, dimension, values], i) => {
        const text = `${dimensionLabels[dimension] ?? dimension} ${operatorLabels[op] ?? op} ${values
          .map((v) => displayValue(dimension, v))
          .join(' or ')}`;
        return (
          <li key={text} class="chip" data-testid="filter-chip">
            <span>{text}</span>
            <button type="button" aria-label={`Remove filter: ${text}`} onClick={() => onRemove(i)}>
              ×
            </button>
          </li>
        );
      })}
      {filters.length > 1 && (
        <li>
          <button type="button" class="link" onClick={onClear}>
            Clear all
          </button>
        </li>
      )}
    </ul>
  );
}
