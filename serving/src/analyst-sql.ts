import type { ClickHouseClient } from '@sightline/core';

/** The analysts' views (sql/0041, 0042) and whether each is restricted to the caller's sites. */
export const analystViews = {
  hourly: true,
  dimensions: true,
  events: true,
  sites: true,
  watermark: false,
} as const;
type View = keyof typeof analystViews;
const viewNames = Object.keys(analystViews) as View[];

/**
 * Functions refused in analyst SQL: those that read files, URLs, other tables or servers by a name
 * in a string argument (which no table check sees), and those that tell about the server.
 */
const deniedFunction =
  /^(file|filecluster|url|urlcluster|s3.*|gcs|cos.*|oss.*|azure.*|hdfs.*|remote.*|cluster.*|mysql|postgresql|mongodb|redis|sqlite|odbc|jdbc|executable.*|input|merge|loop|view|viewifpermitted|dictionary|dict.*|joinget.*|hascolumnintable|getsetting.*|getserversetting.*|getmacro|filesystem.*|catboostevaluate|evalmlmethod|modelevaluate|iceberg.*|deltalake.*|hudi.*|paimon.*|ytsaurus|arrowflight.*|generaterandom.*|mergetree.*|timeseries.*|prometheus.*|address.*|getclienthttpheader|currentprofiles|currentroles|enabledprofiles|enabledroles|defaultroles|currentuser|getscalar|__.*|shardnum|shardcount|hostname|fqdn|serveruuid|tcpport|buildid|uptime)$/i;

export class AnalystSqlError extends Error {
  override name = 'AnalystSqlError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface AnalystLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
}

/**
 * The user's SELECT, inside a query whose CTEs give each view name its rows. `shape`: the CTEs read
 * empty tables of the views' columns (database analyst_shape), for the checks; otherwise the views
 * themselves, restricted to `{sightline_sites}` unless the caller reads every site.
 */
function compose(sql: string, mode: 'shape' | 'restricted' | 'all'): string {
  const ctes = viewNames.map((view) => {
    if (mode === 'shape') return `${view} AS (SELECT * FROM analyst_shape.${view})`;
    const where =
      mode === 'restricted' && analystViews[view] ? ' WHERE site_id IN {sightline_sites:Array(String)}' : '';
    return `${view} AS (SELECT * FROM analyst.${view}${where})`;
  });
  return `WITH ${ctes.join(', ')}\nSELECT * FROM (\n${sql}\n)`;
}

/**
 * Runs an analyst's SELECT over the analyst views, restricted to `sites` (undefined: every site).
 *
 * Why it cannot reach anything else, without parsing SQL here:
 * 1. One statement: no semicolon at all (chDB runs several statements of one string). The
 *    connection's current database is analyst_shape, so an unqualified name is a view's CTE or nothing.
 * 2. `EXPLAIN AST` (parsing only, nothing evaluated) lists every function called: functions that
 *    read by a name in a string (file(), dictGet(), joinGet(), …) are refused, and so are SETTINGS
 *    clauses (ClickHouse applies one in a subquery without readonly's check).
 * 3. `EXPLAIN QUERY TREE` of the query whose view names are bound to empty shape tables: ClickHouse
 *    itself resolves every table the query reads; anything but a shape table (another table, a
 *    system table, a qualified analyst view, a table function) is refused.
 * 4. The same text, only with the view names bound to the site-restricted views, runs on a
 *    connection that is read-only for good (readonly=1: no writes, no SETTINGS that lift limits).
 */
export async function runAnalystSql(
  ch: ClickHouseClient,
  sql: string,
  sites: string[] | undefined,
): Promise<{ meta: { name: string; type: string }[]; data: Record<string, unknown>[]; rows: number }> {
  const text = sql.trim().replace(/;\s*$/, '');
  if (text.length === 0) throw new AnalystSqlError('invalid_sql', 'query: empty');
  if (text.includes(';'))
    throw new AnalystSqlError('invalid_sql', 'query: one statement only; no semicolons');

  const shape = compose(text, 'shape');
  const ast = await explain(ch, `EXPLAIN AST ${shape}`);
  // Before anything is evaluated: no qualified table names but the shapes'. Unqualified names find
  // the view names' CTEs or, the connection's current database being analyst_shape, nothing else.
  for (const match of ast.matchAll(/^\s*TableIdentifier (\S+)/gm)) {
    const name = match[1]!;
    if (name.includes('.') && !name.startsWith('analyst_shape.'))
      throw new AnalystSqlError(
        'forbidden_sql',
        `query: only the analyst views (${viewNames.join(', ')}) can be read, not ${name}`,
      );
  }
  // A SETTINGS clause in a subquery is applied without readonly's check: refuse them all.
  if (/^\s*Set\b/m.test(ast)) throw new AnalystSqlError('forbidden_sql', 'query: SETTINGS are not available');
  for (const match of ast.matchAll(/^\s*Function (\S+)/gm)) {
    if (deniedFunction.test(match[1]!))
      throw new AnalystSqlError('forbidden_sql', `query: the function ${match[1]} is not available`);
  }
  const tree = await explain(ch, `EXPLAIN QUERY TREE ${shape}`);
  for (const line of tree.split('\n')) {
    const node = /^\s*([A-Z_]+) id: \d+/.exec(line)?.[1];
    if (node === 'TABLE_FUNCTION')
      throw new AnalystSqlError('forbidden_sql', 'query: table functions are not available');
    if (node === 'FUNCTION') {
      const name = /function_name: ([^,\s]+)/.exec(line)?.[1] ?? '';
      if (deniedFunction.test(name))
        throw new AnalystSqlError('forbidden_sql', `query: the function ${name} is not available`);
    }
    if (node === 'TABLE') {
      const table = /table_name: ([^,\s]+)/.exec(line)?.[1] ?? '';
      // system.one is the one-row table of a SELECT without FROM.
      if (!table.startsWith('analyst_shape.') && table !== 'system.one') {
        throw new AnalystSqlError(
          'forbidden_sql',
          `query: only the analyst views (${viewNames.join(', ')}) can be read, not ${table}`,
        );
      }
    }
  }

  const result = await ch
    .query({
      query: compose(text, sites ? 'restricted' : 'all'),
      query_params: sites ? { sightline_sites: sites } : {},
      format: 'JSON',
    })
    .catch((error: unknown) => {
      throw fromClickHouse(error);
    });
  const body = await result.json<{
    meta: { name: string; type: string }[];
    data: Record<string, unknown>[];
    rows: number;
  }>();
  return { meta: body.meta ?? [], data: body.data, rows: body.rows ?? body.data.length };
}

async function explain(ch: ClickHouseClient, query: string): Promise<string> {
  try {
    // exec adds no FORMAT clause (which EXPLAIN would take as part of the explained query); chDB
    // takes the answer's format from default_format.
    const result = await ch.exec({ query, clickhouse_settings: { default_format: 'TabSeparatedRaw' } });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw fromClickHouse(error);
  }
}

function fromClickHouse(error: unknown): AnalystSqlError {
  const message = error instanceof Error ? error.message : String(error);
  if (/TIMEOUT_EXCEEDED|Timeout exceeded/i.test(message))
    return new AnalystSqlError('sql_timeout', `query: ran longer than the limit (${firstLine(message)})`);
  if (/TOO_MANY_ROWS|Limit for result exceeded/i.test(message))
    return new AnalystSqlError(
      'too_many_rows',
      `query: answers more rows than the limit (${firstLine(message)})`,
    );
  return new AnalystSqlError('invalid_sql', `query: ${firstLine(message)}`);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.slice(0, 500);
}

/**
 * Makes the analyst connection (chDB) read-only with its limits. chDB keeps SETs per connection, so
 * this runs once and holds for good; it is checked, and a connection that did not take it is refused.
 */
export async function limitAnalystConnection(ch: ClickHouseClient, limits: AnalystLimits): Promise<void> {
  await ch.command({ query: 'USE analyst_shape' });
  await ch.query({
    query: 'SELECT 1',
    format: 'JSONEachRow',
    clickhouse_settings: {
      max_execution_time: limits.maxExecutionSeconds,
      max_result_rows: String(limits.maxResultRows),
      result_overflow_mode: 'throw',
      readonly: '1',
    },
  });
  const [row] = await (
    await ch.query({
      query: "SELECT getSetting('readonly') AS readonly, currentDatabase() AS db",
      format: 'JSONEachRow',
    })
  ).json<{ readonly: string | number; db: string }>();
  if (Number(row?.readonly) !== 1 || row?.db !== 'analyst_shape')
    throw new Error('the analyst connection is not read-only in analyst_shape');
}

/** Empty tables of the analyst views' columns, which the checks bind the view names to. */
export async function createShapeTables(ch: ClickHouseClient): Promise<void> {
  await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS analyst_shape' });
  for (const view of viewNames)
    await ch.command({
      query: `CREATE OR REPLACE TABLE analyst_shape.${view} AS analyst.${view} ENGINE = Null`,
    });
}
