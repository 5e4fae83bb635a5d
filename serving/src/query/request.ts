import { type ClickHousePool, siteIdSchema } from '@sightline/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type BatchVersion, readBatchVersion } from '../cache.js';
import { type BatchSplit, readBatchSplit } from './batch-split.js';
import { invalidQuery, QueryError } from './errors.js';
import { batchOnlyMetrics, type Metric } from './metrics.js';
import type { QueryContext, QueryReader } from './run.js';
import { SiteZones } from './site.js';
import { SiteReads } from './site-reads.js';
import {
  previousPeriod,
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

declare module 'fastify' {
  interface FastifyRequest {
    /** The batch version the request is answered at (see QueryService.versionOf). */
    batchVersion?: BatchVersion;
    /** Set when the answer's whole range lies before the watermark: it cannot change until a commit. */
    finalAnswer?: boolean;
  }
}

/** A native query route's start: the site's zone, the units of the range and of the previous period. */
export interface PreparedQuery {
  tz: string;
  units: UnitRange;
  /** The units of the previous period of the same length, when the request compares. */
  previous?: UnitRange;
  /** Where the merge splits: pass it to every query of the request (QueryService.context). */
  split: BatchSplit;
  authoritativeUntil: Date | null;
}

/** What every query route shares: the pool, the time limit, the sites' zones, the batch version. */
export class QueryService {
  readonly zones = new SiteZones();
  readonly timeoutSeconds: number;
  readonly reads: SiteReads;
  constructor(readonly deps: QueryRoutesDeps) {
    this.timeoutSeconds = deps.queryTimeoutSeconds ?? 10;
    this.reads = new SiteReads(deps.pool.slots, this.timeoutSeconds, deps.pool.queryThreads);
  }

  /** The next pooled connection, with the serving time limit. */
  reader(): QueryReader {
    return { ch: this.deps.pool.client, timeoutSeconds: this.timeoutSeconds };
  }

  /** Reads of the merged rollups, split at `split`. */
  context(split: BatchSplit): QueryContext {
    return { ...this.reader(), split, reads: this.reads };
  }

  async zone(siteId: string, override: string | undefined): Promise<string> {
    const tz = await this.zones.get(this.reads, siteId);
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
      const value = readBatchVersion(this.reader());
      this.#version = { at: now, value };
      value.catch(() => {
        this.#version = undefined;
      });
    }
    return this.#version.value;
  }

  /**
   * The batch version a request is answered at, read once per request: the response cache's key,
   * the merge's split and the answer's authoritative_until are the same watermark.
   */
  async versionOf(request: FastifyRequest): Promise<BatchVersion> {
    request.batchVersion ??= await this.batchVersion();
    return request.batchVersion;
  }

  #split: { version: BatchVersion; value: Promise<BatchSplit> } | undefined;

  /**
   * Where the merge splits for the request's batch version: its watermark and the committed runs
   * below it, read again only when the version changes (a commit).
   */
  async splitOf(request: FastifyRequest): Promise<BatchSplit> {
    const version = await this.versionOf(request);
    const memo = this.#split;
    if (
      memo &&
      memo.version.watermark === version.watermark &&
      memo.version.lastCommit === version.lastCommit
    )
      return memo.value;
    const value = readBatchSplit(this.reader(), version.watermark);
    this.#split = { version, value };
    value.catch(() => {
      if (this.#split?.value === value) this.#split = undefined;
    });
    return value;
  }

  /**
   * The prologue of the timeseries, aggregate and breakdown routes: the zone (the site's or `tz`),
   * the range's units (400 if empty or too long), the previous period's with `compare`, and where
   * the merge splits. Marks the answer final when the whole range lies before the watermark.
   */
  async prepare(
    request: FastifyRequest,
    site: string,
    range: { from: TimeInput; to: TimeInput; tz?: string; compare?: string },
    unitMs: number,
    maxMs: number,
  ): Promise<PreparedQuery> {
    const [tz, split] = await Promise.all([this.zone(site, range.tz), this.splitOf(request)]);
    const units = resolveUnits(range.from, range.to, tz, unitMs, maxMs);
    const period = range.compare ? previousPeriod(range.from, range.to, tz) : undefined;
    const previous = period ? resolveUnits(period.from, period.to, tz, unitMs, maxMs) : undefined;
    request.finalAnswer = split.watermark > 0 && units.last + unitMs <= split.watermark;
    return { tz, units, previous, split, authoritativeUntil: authoritativeUntil(split.watermark) };
  }
}

/** The batch watermark as a date: every hour before it is authoritative. Null while nothing is committed. */
export const authoritativeUntil = (watermark: number): Date | null =>
  watermark > 0 ? new Date(watermark) : null;

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
