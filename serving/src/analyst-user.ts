import { randomBytes } from 'node:crypto';
import { type ClickHouseClient, siteIdSchema } from '@sightline/core';
import { z } from 'zod';

/** Views the Lambda merge views read that have no site_id column to see (the batch's commit bookkeeping, the merge at a watermark). */
const mergeHelpers = [
  'batch_commits',
  'batch_committed',
  'batch_watermark',
  'batch_split',
  // Parameterised views list no columns, so their site_id is not seen: the row policies on the
  // tables they read restrict them.
  'hourly_merged_at',
  'dimensions_merged_at',
];

export const analystUserSchema = z.object({
  user: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'lowercase letters, digits and underscores, starting with a letter'),
  password: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, '16 to 128 letters, digits, underscores or dashes')
    .default(() => randomBytes(24).toString('base64url')),
  sites: z.array(siteIdSchema).min(1, 'at least one site'),
  database: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain database name')
    .default('default'),
  cluster: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain cluster name')
    .optional(),
  maxExecutionSeconds: z.number().int().min(1).default(60),
  maxResultRows: z.number().int().min(1).default(1_000_000),
});
export type AnalystUser = z.input<typeof analystUserSchema>;

/** The relations of the schema the statements are made for: which have site_id, and which are views. */
export interface SchemaRelation {
  name: string;
  engine: string;
  hasSiteId: boolean;
}

/** Every relation of `database` with its engine and whether it has a site_id column. */
export async function readSchema(ch: ClickHouseClient, database: string): Promise<SchemaRelation[]> {
  const result = await ch.query({
    query: `SELECT t.name AS name, t.engine AS engine, countIf(c.name = 'site_id') > 0 AS hasSiteId
            FROM system.tables AS t LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name
            WHERE t.database = {db:String} AND NOT startsWith(t.name, '.inner')
            GROUP BY t.name, t.engine ORDER BY t.name`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string; engine: string; hasSiteId: boolean | number }>()).map((r) => ({
    ...r,
    hasSiteId: Boolean(r.hasSiteId),
  }));
}

/**
 * The statements that give an analyst a ClickHouse user of their own (cluster mode): read-only with
 * time and row limits, SELECT on the analyst views and on what they read, and a row policy on
 * site_id on every table that has one, so whatever they query, they see their sites' rows only.
 * Not granted: the Kafka engine table (reading it would consume the stream), the dead letters (raw
 * messages of every site) and anything else without site_id.
 */
export function analystUserSql(
  input: AnalystUser,
  schema: SchemaRelation[],
): { statements: string[]; password: string } {
  const u = analystUserSchema.parse(input);
  const on = u.cluster ? ` ON CLUSTER ${u.cluster}` : '';
  const sites = u.sites.map((s) => `'${s}'`).join(', ');
  const isView = (r: SchemaRelation) => r.engine === 'View' || r.engine === 'MaterializedView';
  const readable = schema.filter(
    (r) =>
      r.engine !== 'Kafka' &&
      (r.hasSiteId || mergeHelpers.includes(r.name)) &&
      r.engine !== 'MaterializedView',
  );
  const policed = readable.filter((r) => r.hasSiteId && !isView(r));
  const statements = [
    `CREATE USER IF NOT EXISTS ${u.user}${on} IDENTIFIED WITH sha256_password BY '${u.password}' ` +
      `SETTINGS readonly = 1, max_execution_time = ${u.maxExecutionSeconds}, ` +
      `max_result_rows = ${u.maxResultRows}, result_overflow_mode = 'throw'`,
    `GRANT${on} SELECT ON analyst.* TO ${u.user}`,
    ...readable.map((r) => `GRANT${on} SELECT ON ${u.database}.${r.name} TO ${u.user}`),
    ...policed.map(
      (r) =>
        `CREATE ROW POLICY IF NOT EXISTS ${u.user}_sites${on} ON ${u.database}.${r.name} ` +
        `FOR SELECT USING site_id IN (${sites}) TO ${u.user}`,
    ),
  ];
  return { statements, password: u.password };
}
