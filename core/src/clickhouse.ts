import { availableParallelism } from 'node:os';
import path from 'node:path';
import { type ClickHouseClient, type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import type { Config } from './config.js';
import { inlineParams } from './inline-params.js';

export type { ClickHouseClient };

/**
 * The one place a ClickHouse client is made. With CLICKHOUSE_URL it speaks HTTP to a server or
 * cluster; without, it runs chDB in this process on DATA_DIR/clickhouse.
 *
 * A chDB connection runs one query at a time, while several connections to the same directory run
 * theirs in parallel (once their parameters are written into the statement: withInlinedParams), so
 * each role asks for its own client (the batch layer's heavy recomputes never queue behind, or in
 * front of, the serving API's reads).
 */
export function createClickHouse(
  config: Config,
  options: { maxConnections?: number } = {},
): ClickHouseClient {
  if (config.CLICKHOUSE_URL) {
    return createClient({
      url: config.CLICKHOUSE_URL,
      username: config.CLICKHOUSE_USER,
      password: config.CLICKHOUSE_PASSWORD,
      max_open_connections: options.maxConnections ?? 10,
    });
  }
  // chdb declares its connection against @clickhouse/client-common, which @clickhouse/client now
  // bundles under its own path: the same interface declared twice, hence the cast.
  const connection = withInlinedParams(createChdbConnection({ path: chdbPath(config) }));
  return createClient({ connection: connection as unknown as ClickHouseClientConfigOptions['connection'] });
}

interface Statement {
  query: string;
  query_params?: Record<string, unknown> | undefined;
}

/**
 * The chDB connection with each statement's parameters written into its text (inlineParams says why
 * and how), so that the process's connections run their queries at once.
 */
function withInlinedParams<C extends object>(connection: C): C {
  const inline = (params: Statement): Statement => {
    if (!params.query_params || Object.keys(params.query_params).length === 0) return params;
    const query = inlineParams(params.query, params.query_params);
    return query === undefined ? params : { ...params, query, query_params: undefined };
  };
  const inlined = new Set(['query', 'exec', 'command']);
  return new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Bound to the connection itself: its methods use private fields.
      return inlined.has(String(property))
        ? (params: Statement) => value.call(target, inline(params))
        : value.bind(target);
    },
  });
}

export function chdbPath(config: Pick<Config, 'DATA_DIR'>): string {
  return path.resolve(config.DATA_DIR, 'clickhouse');
}

/** Round-robin over several clients: the serving layer's small pool of chDB connections. */
export class ClickHousePool {
  #next = 0;
  /**
   * One entry per query that may run at once: each chDB connection once, or the one HTTP client
   * to a server as many times as it may open connections.
   */
  readonly slots: readonly ClickHouseClient[];
  /**
   * @param queryThreads The threads one read may use. chDB's connections are few (the serving
   * pool's two), so its reads may use every core; with two connections on 2 cores, one thread per
   * read was no faster (bench:serving at 2 M events: 510 and 546 against 503 and 540 req/s). A
   * server runs many reads at once, each on one thread.
   */
  constructor(
    readonly clients: ClickHouseClient[],
    concurrency = clients.length,
    readonly queryThreads = Math.min(availableParallelism(), 4),
  ) {
    if (clients.length === 0) throw new Error('ClickHousePool needs at least one client');
    this.slots = Array.from({ length: concurrency }, (_, i) => clients[i % clients.length]!);
  }

  static create(config: Config, size: number): ClickHousePool {
    if (config.CLICKHOUSE_URL)
      return new ClickHousePool([createClickHouse(config, { maxConnections: size })], size, 1);
    return new ClickHousePool(Array.from({ length: size }, () => createClickHouse(config)));
  }

  get client(): ClickHouseClient {
    const client = this.clients[this.#next % this.clients.length]!;
    this.#next += 1;
    return client;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
