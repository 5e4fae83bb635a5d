import { MigrationError } from './migrations.js';

/**
 * The cluster form of the migrations: the statements in sql/ are written for one ClickHouse node,
 * and this turns each one into its form on a sharded, replicated cluster, so there is one copy of
 * the schema. The rule, by statement:
 *
 * - CREATE TABLE … ENGINE = <X>MergeTree: if the table has a `site_id` column it is *sharded*: its
 *   rows live in `<name>_local`, a Replicated<X>MergeTree on every node (one replica set per shard),
 *   and `<name>` becomes a Distributed table over them with the sharding key cityHash64(site_id), so
 *   one site's rows (raw events and every rollup alike) sit on one shard and a per-site read touches
 *   one shard. A table without `site_id` is small bookkeeping (commits, runs, keys, dead letters,
 *   the ledger): it is *global*, one Replicated<X>MergeTree replicated to every node under its own
 *   name, so every node reads it locally.
 * - CREATE TABLE … ENGINE = Kafka: the same table on every node, same consumer group, so Kafka
 *   spreads the topic's partitions over the nodes and each message is consumed once.
 * - CREATE MATERIALIZED VIEW: on every node. One that reads a sharded table is a per-shard trigger
 *   (it fires on the rows inserted into that node's local table), so it reads and writes the local
 *   tables: both have the same sharding key, so its output belongs on the same shard. One that reads
 *   anything else (the Kafka table) writes through the Distributed table, which sends each row to
 *   its site's shard.
 * - CREATE VIEW, CREATE DATABASE: on every node, text unchanged: views read the Distributed and
 *   global tables, as every reader does.
 * - ALTER TABLE: on every node; on a sharded table, column changes go to the local and the
 *   Distributed table, anything else to the local table only.
 * - DROP TABLE/VIEW: on every node; a sharded table's Distributed table first, then its local one.
 * - INSERT: unchanged (through the Distributed table it reaches the right shard).
 * - Anything else has no rule yet and is refused, so a new kind of statement cannot silently run on
 *   one node only: extend this file and its test.
 */
export interface ClusterSchema {
  cluster: string;
  /** Tables with site_id, split into <name>_local + a Distributed <name>. */
  sharded: Set<string>;
  kafka: Set<string>;
}

export const shardingKey = 'cityHash64(site_id)';
/** Replica paths in Keeper: per shard for sharded tables, one for all nodes for global ones. */
const shardedPath = "'/clickhouse/tables/{shard}/{database}/{table}'";
const globalPath = "'/clickhouse/tables/all/{database}/{table}'";

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const name = '`?([A-Za-z_][\\w.]*?)`?';
const createTable = new RegExp(`^CREATE\\s+TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?${name}\\s*\\(`, 'i');
const createView = new RegExp(
  `^CREATE\\s+(OR\\s+REPLACE\\s+)?(MATERIALIZED\\s+)?VIEW\\s+(IF\\s+NOT\\s+EXISTS\\s+)?${name}(?=\\s)`,
  'i',
);
const createDatabase = new RegExp(`^CREATE\\s+DATABASE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?${name}(?=\\s|$)`, 'i');
const alterTable = new RegExp(`^ALTER\\s+TABLE\\s+${name}\\s+`, 'i');
const dropTable = new RegExp(`^DROP\\s+(TABLE|VIEW)\\s+(IF\\s+EXISTS\\s+)?${name}(?=\\s|$)`, 'i');
const engineClause = /^\s*ENGINE\s*=\s*(\w+)(\s*\(([^()]*)\))?/i;
const columnChange = /^\s*(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b/i;

/** Reads every CREATE TABLE of the migrations (applied or not) to know which tables are sharded. */
export function clusterSchema(cluster: string, statements: string[]): ClusterSchema {
  if (!identifier.test(cluster))
    throw new MigrationError(`cluster name ${JSON.stringify(cluster)} is not a plain identifier`);
  const schema: ClusterSchema = { cluster, sharded: new Set(), kafka: new Set() };
  for (const statement of statements) {
    const table = parseCreateTable(statement);
    if (!table) continue;
    if (/^Kafka$/i.test(table.engine)) schema.kafka.add(table.name);
    else if (/MergeTree$/.test(table.engine) && hasSiteId(table.columns)) schema.sharded.add(table.name);
  }
  return schema;
}

/** The cluster form of one single-node statement: one statement or, for a sharded table, two. */
export function toCluster(statement: string, schema: ClusterSchema): string[] {
  const on = `ON CLUSTER ${schema.cluster}`;
  const table = parseCreateTable(statement);
  if (table) return createTableOnCluster(table, schema);

  const view = createView.exec(statement);
  if (view) {
    const [head, , materialized, , viewName] = view;
    const rest = statement.slice(head.length);
    const onCluster = `${head} ${on}`;
    if (!materialized) return [`${onCluster}${rest}`];
    const sources = [...rest.matchAll(/\b(?:FROM|JOIN)\s+`?([A-Za-z_][\w.]*)`?/gi)].map((m) => m[1]!);
    if (!/^\s+TO\s/i.test(rest))
      throw new MigrationError(
        `materialized view ${viewName} has no TO table: write it with TO <table> for its cluster form`,
      );
    if (!sources.some((s) => schema.sharded.has(s))) return [`${onCluster}${rest}`];
    const local = (_: string, keyword: string, table: string) =>
      `${keyword}${schema.sharded.has(table) ? localName(table) : table}`;
    return [
      `${onCluster}${rest
        .replace(/^(\s+TO\s+)`?([A-Za-z_][\w.]*)`?/i, local)
        .replace(/(\b(?:FROM|JOIN)\s+)`?([A-Za-z_][\w.]*)`?/gi, local)}`,
    ];
  }

  const database = createDatabase.exec(statement);
  if (database) return [`${database[0]} ${on}${statement.slice(database[0].length)}`];

  const alter = alterTable.exec(statement);
  if (alter) {
    const target = alter[1]!;
    const action = statement.slice(alter[0].length);
    if (!schema.sharded.has(target)) return [`ALTER TABLE ${target} ${on} ${action}`];
    const statements = [`ALTER TABLE ${localName(target)} ${on} ${action}`];
    if (columnChange.test(action)) statements.push(`ALTER TABLE ${target} ${on} ${action}`);
    return statements;
  }

  const drop = dropTable.exec(statement);
  if (drop) {
    const [head, kind, ifExists = '', target] = drop;
    const rest = statement.slice(head.length);
    const dropOne = (t: string) => `DROP ${kind} ${ifExists}${t} ${on}${rest}`;
    return schema.sharded.has(target!) ? [dropOne(target!), dropOne(localName(target!))] : [dropOne(target!)];
  }

  if (/^INSERT\s+INTO\s/i.test(statement)) return [statement];
  throw new MigrationError(
    `no cluster form for: ${statement.slice(0, 60).replace(/\s+/g, ' ')}…; write it as CREATE TABLE/VIEW/DATABASE, ALTER TABLE, DROP or INSERT, or extend core/src/cluster-ddl.ts`,
  );
}

export function localName(table: string): string {
  return `${table}_local`;
}

interface CreateTable {
  head: string;
  name: string;
  /** The text between the column list's parentheses. */
  columns: string;
  engine: string;
  /** The engine's arguments, without parentheses; '' when it has none. */
  engineArgs: string;
  /** Everything after the engine clause (PARTITION BY, ORDER BY, TTL, SETTINGS). */
  tail: string;
}

function parseCreateTable(statement: string): CreateTable | undefined {
  const match = createTable.exec(statement);
  if (!match) return undefined;
  const open = match[0].length - 1;
  const close = closingParen(statement, open);
  const afterColumns = statement.slice(close + 1);
  const engine = engineClause.exec(afterColumns);
  if (!engine) throw new MigrationError(`table ${match[2]}: no ENGINE clause after its columns`);
  return {
    head: match[0].slice(0, -1).trimEnd(),
    name: match[2]!,
    columns: statement.slice(open + 1, close),
    engine: engine[1]!,
    engineArgs: (engine[3] ?? '').trim(),
    tail: afterColumns.slice(engine[0].length),
  };
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new MigrationError('unbalanced parentheses in a CREATE TABLE');
}

function hasSiteId(columns: string): boolean {
  return /(?:^|,)\s*`?site_id`?\s/.test(columns);
}

function createTableOnCluster(table: CreateTable, schema: ClusterSchema): string[] {
  const on = `ON CLUSTER ${schema.cluster}`;
  if (/^Kafka$/i.test(table.engine))
    return [`${table.head} ${on} (${table.columns}) ENGINE = Kafka${table.tail}`];
  if (!/^\w*MergeTree$/.test(table.engine) || /^Replicated/.test(table.engine))
    throw new MigrationError(
      `table ${table.name}: engine ${table.engine} has no cluster form (a *MergeTree or Kafka table has)`,
    );
  const sharded = schema.sharded.has(table.name);
  const args = [sharded ? shardedPath : globalPath, "'{replica}'", table.engineArgs].filter(Boolean);
  const engine = `ENGINE = Replicated${table.engine}(${args.join(', ')})`;
  if (!sharded) return [`${table.head} ${on} (${table.columns}) ${engine}${table.tail}`];
  const local = localName(table.name);
  return [
    `CREATE TABLE IF NOT EXISTS ${local} ${on} (${table.columns}) ${engine}${table.tail}`,
    `CREATE TABLE IF NOT EXISTS ${table.name} ${on} AS ${local} ` +
      `ENGINE = Distributed(${schema.cluster}, currentDatabase(), ${local}, ${shardingKey})`,
  ];
}
