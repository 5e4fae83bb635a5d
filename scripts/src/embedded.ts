import type { ClickHousePool, Config, Logger } from '@sightline/core';
import type { FastifyInstance } from 'fastify';
import { roleNames, startRoles } from './roles.js';

export interface Embedded {
  app: FastifyInstance;
  /** The address the app listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  adminToken: string;
  /** The serving connections, for in-process tools and tests. */
  clickhouse: ClickHousePool;
  close(): Promise<void>;
}

/**
 * The embedded mode: every role in this one process on one port. chDB's data directory belongs to
 * one process, so ingest, the speed layer's schema, the batch layer and serving all share this
 * process's engine (each through its own connection). The roles are built as when each runs alone
 * (roles.ts, role.ts).
 */
export async function startEmbedded(config: Config, logger: Logger): Promise<Embedded> {
  const running = await startRoles(config, logger, roleNames);
  const { app, url, adminToken, pool } = running;
  if (!adminToken || !pool) throw new Error('the serving role did not start');
  return { app, url, adminToken, clickhouse: pool, close: running.close };
}
