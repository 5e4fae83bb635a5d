import { z } from 'zod';
import { type Dimension, dimensionSchema } from './dimensions.js';
import { unsupportedQuery } from './errors.js';

export const filterOperators = [
  'is',
  'is_not',
  'contains',
  'contains_not',
  'matches',
  'matches_not',
] as const;
export type FilterOperator = (typeof filterOperators)[number];
export type Filter = [FilterOperator, Dimension, string[]];

export const filtersSchema = z
  .array(z.tuple([z.enum(filterOperators), dimensionSchema, z.array(z.string().max(1000)).min(1).max(50)]))
  .max(20);

/** The `filters` query parameter: a JSON array like `[["is","page",["/a"]],["contains","country",["D"]]]`. */
export const filtersParamSchema = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of [operator, dimension, [values]]' });
      return z.NEVER;
    }
  })
  .pipe(filtersSchema)
  .transform((filters) => filters as Filter[]);

/**
 * The one dimension a set of filters is on. The rollups keep each dimension's rows apart (one row
 * per site, hour, dimension and value), so filters on one dimension select rows of that dimension
 * exactly, while filters on two dimensions ("page /a AND country DE") would need the events that
 * have both values, which no per-dimension rollup holds: refused with a 400 rather than answered
 * wrongly or by scanning events_raw.
 */
export function filterDimension(filters: Filter[], breakdown?: Dimension): Dimension | undefined {
  const dims = new Set<Dimension>(filters.map((f) => f[1]));
  if (breakdown) dims.add(breakdown);
  if (dims.size > 1) {
    throw unsupportedQuery(
      'filters',
      `filters and breakdowns can use one dimension at a time (got ${[...dims].join(', ')}): the rollups hold each dimension separately, so a combination across dimensions cannot be answered from them`,
    );
  }
  return [...dims][0];
}

const anyOf = (names: string[], one: (name: string) => string) => `(${names.map(one).join(' OR ')})`;

const conditionSql: Record<FilterOperator, (names: string[]) => string> = {
  is: (names) => `value IN (${names.join(', ')})`,
  is_not: (names) => `value NOT IN (${names.join(', ')})`,
  contains: (names) => anyOf(names, (n) => `position(value, ${n}) > 0`),
  contains_not: (names) => `NOT ${anyOf(names, (n) => `position(value, ${n}) > 0`)}`,
  matches: (names) => anyOf(names, (n) => `match(value, ${n})`),
  matches_not: (names) => `NOT ${anyOf(names, (n) => `match(value, ${n})`)}`,
};

/**
 * SQL conditions on `value` for the filters (all ANDed), each value a bound parameter. `matches`
 * uses ClickHouse's match (RE2 syntax).
 */
export function filterConditions(filters: Filter[], params: Record<string, unknown>): string[] {
  return filters.map(([op, , values], i) => {
    const names = values.map((v, j) => {
      const name = `f${i}_${j}`;
      params[name] = v;
      return `{${name}:String}`;
    });
    return conditionSql[op](names);
  });
}
