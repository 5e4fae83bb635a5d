import path from 'node:path';
import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
/**
 * The one place a ClickHouse client is made. With CLICKHOUSE_URL it speaks HTTP to a server or
 * cluster; without, it runs chDB in this process on DATA_DIR/clickhouse.
 *
 * A chDB connection runs one query at a time, while several connections to the same directory run
 * in parallel, so each role asks for its own client (the batch layer's heavy recomputes never queue
 * behind, or in front of, the serving API's reads).
 */
export function createClickHouse(config, options = {}) {
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
  const connection = createChdbConnection({ path: chdbPath(config) });
  return createClient({ connection: connection });
}
export function chdbPath(config) {
  return path.resolve(config.DATA_DIR, 'clickhouse');
}
/** Round-robin over several clients: the serving layer's small pool of chDB connections. */
export class ClickHousePool {
  clients;
  #next = 0;
  constructor(clients) {
    this.clients = clients;
    if (clients.length === 0) throw new Error('ClickHousePool needs at least one client');
  }
  static create(config, size) {
    if (config.CLICKHOUSE_URL)
      return new ClickHousePool([createClickHouse(config, { maxConnections: size })]);
    return new ClickHousePool(Array.from({ length: size }, () => createClickHouse(config)));
  }
  get client() {
    const client = this.clients[this.#next % this.clients.length];
    this.#next += 1;
    return client;
  }
  async close() {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
