import { type ClickHousePool, siteIdSchema } from '@sightline/core';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { type BatchVersion, readBatchVersion } from '../cache.js';
import { invalidQuery, QueryError } from './errors.js';
import { batchOnlyMetrics, type Metric } from './metrics.js';
import type { QueryContext } from './run.js';
import { SiteZones } from './site.js';
import {
  type TimeInput,
  timeInputSchema,
  timeZoneSchema,
  toInstant,
  type UnitRange,
  unitRange,
} from './time.js';

export interface QueryRoutesDeps {
  pool: ClickHousePool;
  /** ClickHouse's max_execution_time per query, seconds (default 10). */
  queryTimeoutSeconds?: number;
}

const VERSION_TTL_MS = 1000;

/** What every query route shares: the pool, the time limit, the sites' zones. */
export class QueryService {
  readonly zones = new SiteZones();
  readonly timeoutSeconds: number;
  constructor(readonly deps: QueryRoutesDeps) {
    this.timeoutSeconds = deps.queryTimeoutSeconds ?? 10;
  }

  /** A context on the next pooled connection. */
  context(): QueryContext {
    return { ch: this.deps.pool.client, timeoutSeconds: this.timeoutSeconds };
  }

  async zone(siteId: string, override: string | undefined): Promise<string> {
    const tz = await this.zones.get(this.context(), siteId);
    return override ?? tz;
  }

  #version: { at: number; value: Promise<BatchVersion> } | undefined;

  /**
   * The batch watermark and last commit. They move once an hour (or at a reprocess), so one read
   * serves every request of the next second instead of costing each request a query.
   */
  batchVersion(): Promise<BatchVersion> {
    const now = Date.now();
    if (!this.#version || now - this.#version.at > VERSION_TTL_MS) {
      const value = readBatchVersion(this.context().ch);
      this.#version = { at: now, value };
      value.catch(() => {
        this.#version = undefined;
      });
    }
    return this.#version.value;
  }

  /** The batch watermark: every hour before it is authoritative. Null while nothing is committed. */
  async authoritativeUntil(): Promise<Date | null> {
    const { watermark } = await this.batchVersion();
    return watermark > 0 ? new Date(watermark) : null;
  }
}

export const siteParamsSchema = z.strictObject({ site: siteIdSchema });

/** The range fields of the native query routes. */
export const rangeShape = {
  from: timeInputSchema,
  to: timeInputSchema,
  tz: timeZoneSchema
    .optional()
    .meta({ description: "IANA time zone of dates and buckets; default: the site's" }),
};

/** The longest range a query may cover. */
export const MAX_RANGE_DAYS = 400;

/** The rollup units of [from, to) in a zone, or a 400 if the range is empty or too long. */
export function resolveUnits(
  from: TimeInput,
  to: TimeInput,
  tz: string,
  unitMs: number,
  maxMs: number,
): UnitRange {
  const fromMs = toInstant(from, tz);
  const toMs = toInstant(to, tz);
  if (toMs <= fromMs) throw invalidQuery('to', 'must be after from');
  if (toMs - fromMs > maxMs)
    throw invalidQuery('to', `the range is longer than ${Math.round(maxMs / 3600_000)} hours`);
  const units = unitRange(fromMs, toMs, unitMs);
  if (!units) throw invalidQuery('to', `the range holds no whole ${unitMs === 60_000 ? 'minute' : 'hour'}`);
  return units;
}

/** Notes about numbers that are not what they seem: visits and conversions in live hours. */
export function warnings(metrics: Metric[], lastUnit: number, authoritativeUntil: Date | null): string[] {
  const live = authoritativeUntil === null || lastUnit >= authoritativeUntil.getTime();
  const batchOnly = metrics.filter((m) => batchOnlyMetrics.includes(m));
  if (!live || batchOnly.length === 0) return [];
  return [
    `${batchOnly.join(', ')}: only the batch layer computes visits and goal conversions, so hours from authoritative_until on have none`,
  ];
}

/** Sends a QueryError as its JSON error (503s with Retry-After); anything else goes to the error handler. */
export async function answer<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.code(error.status).send(error.body);
  }
}

/** Whether the client asked for CSV: `format=csv`, or an Accept header that prefers text/csv. */
export function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format) return format === 'csv';
  return (accept ?? '').split(',')[0]?.trim().startsWith('text/csv') ?? false;
}
