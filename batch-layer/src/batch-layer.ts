import { createHash, randomUUID } from 'node:crypto';
import {
  type ClickHouseClient,
  type Config,
  createClickHouse,
  type Logger,
  loadSites,
  logOutages,
  type Redis,
  readWatermark,
  siteIdSchema,
} from '@sightline/core';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { z } from 'zod';
import { cleanupSupersededRuns } from './cleanup.js';
import { type RebuildOutcome, rebuildRawDay } from './rebuild-raw.js';
import { rebuildRollups, tablesToRebuild } from './rebuild-rollups.js';
import { type BatchLogic, currentLogic, recomputeHour } from './recompute-hour.js';
import { floorHour, HOUR_MS, hoursToRecompute } from './watermark.js';

const reasons = ['scheduled', 'late_events', 'reprocess'] as const;
type Reason = (typeof reasons)[number];

export const batchJobSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('plan') }),
  z.strictObject({ type: z.literal('cleanup') }),
  z.strictObject({
    type: z.literal('recompute'),
    hour: z.iso.datetime(),
    reason: z.enum(reasons),
    sites: z.array(siteIdSchema).optional(),
  }),
]);
export type BatchJob = z.infer<typeof batchJobSchema>;

/**
 * Job schedulers, declared as data and reconciled at start: missing ones are created, changed ones
 * updated (upsertJobScheduler), and ones no longer declared removed. BullMQ does not replay runs
 * missed while the service was down, which is why each plan run enqueues every hour not yet
 * committed: the watermark catches up by itself.
 */
function schedulers(config: Config) {
  return [
    { id: 'hourly-plan', pattern: config.BATCH_SCHEDULE, data: { type: 'plan' } satisfies BatchJob },
    // Half an hour after the plan, away from its recomputes: deletes the rows of superseded runs.
    { id: 'hourly-cleanup', pattern: '35 * * * *', data: { type: 'cleanup' } satisfies BatchJob },
  ];
}

export interface BatchStatus {
  watermark: string | null;
  logic_version: number;
  jobs: Record<string, number>;
  last_runs: {
    hour: string;
    status: string;
    reason: string;
    logic_version: number;
    sites: string[];
    input_rows: number;
    output_rows: number;
    duration_ms: number;
    error: string;
  }[];
}

/** The batch layer: one BullMQ queue, its scheduler, and a worker that plans and recomputes hours. */
export class BatchLayer {
  private constructor(
    private readonly queue: Queue,
    private readonly worker: Worker,
    private readonly workerRedis: Redis,
    private readonly ch: ClickHouseClient,
    private readonly logic: BatchLogic,
    private readonly alongside: ClickHouseClient | undefined,
    /** The rebuild of the rollup tables started with the layer (see rebuildRollupsPaused). */
    private readonly rebuild: { done: Promise<void>; stop: () => void },
  ) {}

  static async start(deps: {
    config: Config;
    ch: ClickHouseClient;
    redis: Redis;
    logger: Logger;
    /** The recompute's rules; the current ones unless a test or a staged rollout says otherwise. */
    logic?: BatchLogic;
    /** Plan once at start (catch up after downtime); default true. */
    planAtStart?: boolean;
  }): Promise<BatchLayer> {
    const { config, ch, redis, logger } = deps;
    const logic = deps.logic ?? currentLogic;
    const connection = redis;
    const queue = new Queue(config.BATCH_QUEUE, {
      connection,
      defaultJobOptions: {
        attempts: 5,
        backoff: { type: 'exponential', delay: 5000 },
        // Finished jobs are removed so the same hour can be enqueued again; every run's outcome is
        // kept in batch_runs instead.
        removeOnComplete: true,
        removeOnFail: true,
      },
    });
    const declared = schedulers(config);
    for (const s of declared) {
      await queue.upsertJobScheduler(
        s.id,
        { pattern: s.pattern, tz: 'UTC' },
        { name: s.data.type, data: s.data },
      );
    }
    for (const existing of await queue.getJobSchedulers()) {
      if (existing.key && !declared.some((s) => s.id === existing.key))
        await queue.removeJobScheduler(existing.key);
    }

    // The worker blocks on its own connection; BullMQ leaves connections it was given open, so
    // close() closes this one.
    const workerRedis = logOutages(redis.duplicate(), logger.child({ redis: 'batch-worker' }));
    // A recompute runs some statements at once; a chDB connection runs one query at a time, so
    // those get a second connection (over HTTP, the one client runs them at once).
    const alongside = config.CLICKHOUSE_URL ? undefined : createClickHouse(config);
    const worker = new Worker(
      config.BATCH_QUEUE,
      async (job: Job, token?: string) => {
        const data = batchJobSchema.parse(job.data);
        if (data.type === 'plan') {
          const hours = await hoursToRecompute(ch, Date.now(), config.BATCH_LATE_WINDOW_HOURS);
          await enqueue(
            queue,
            hours.map((h) => ({ hour: h.hour, reason: h.reason })),
          );
          if (hours.length) logger.info({ hours: hours.length }, 'batch plan: hours enqueued');
          return { enqueued: hours.length };
        }
        const result =
          data.type === 'cleanup'
            ? await exclusively(redis, config.BATCH_QUEUE, 'cleanup', async () => {
                const cleaned = await cleanupSupersededRuns(ch);
                if (cleaned.runs) logger.info(cleaned, 'batch cleanup: superseded runs deleted');
                return cleaned;
              })
            : await exclusively(redis, config.BATCH_QUEUE, data.hour, async () => {
                const committed = await recomputeHour(ch, new Date(data.hour), {
                  reason: data.reason,
                  sites: data.sites,
                  logic,
                  alongside,
                });
                logger.info(committed, 'batch hour committed');
                return committed;
              });
        if (!result) {
          // Another worker is on this hour, or the rollups are being rebuilt: wait without spending
          // an attempt.
          await job.moveToDelayed(Date.now() + 2000, token);
          throw new DelayedError();
        }
        return result;
      },
      // A recompute runs for seconds; the lock is renewed while it runs, and a worker that died
      // mid-job has its job picked up again once the lock expires (stalled-job recovery). It starts
      // taking jobs once the rollups have their storage (below).
      {
        connection: workerRedis,
        concurrency: config.BATCH_CONCURRENCY,
        lockDuration: 120_000,
        autorun: false,
      },
    );
    worker.on('failed', (job, error) => logger.error({ err: error, job: job?.data }, 'batch job failed'));
    // BullMQ re-emits every failed reconnect attempt here: each message is logged once a minute.
    const lastLogged = new Map<string, number>();
    const logQueueError = (error: Error) => {
      if (Date.now() - (lastLogged.get(error.message) ?? 0) < 60_000) return;
      lastLogged.set(error.message, Date.now());
      logger.warn({ err: error.message }, 'batch queue error (the same message is muted for a minute)');
    };
    worker.on('error', logQueueError);
    queue.on('error', logQueueError);
    if (deps.planAtStart !== false)
      await queue.add('plan', { type: 'plan' } satisfies BatchJob, { jobId: `plan-start-${Date.now()}` });
    // The cluster mode's rollups are Distributed tables over Replicated ones, created by the
    // migrations' cluster form; they keep the storage they were made with. The rebuild runs on the
    // second connection, idle while the runs are paused, so the status (and /metrics) still answer.
    const stopRebuild = new AbortController();
    const rollupsRebuilt = config.CLICKHOUSE_CLUSTER
      ? Promise.resolve()
      : rebuildRollupsPaused(alongside ?? ch, redis, config.BATCH_QUEUE, logger, stopRebuild.signal).catch(
          (error: unknown) => {
            if (stopRebuild.signal.aborted) logger.info('rollup rebuild stopped; the next start resumes it');
            else
              logger.error(
                { err: error },
                'rollup rebuild failed; the rollups keep their storage and the next start tries again',
              );
          },
        );
    // Jobs wait in the queue meanwhile (another instance's wait for the pause). Failed or stopped,
    // the rebuild leaves the tables as they were, and the worker runs on them.
    void rollupsRebuilt.then(() => {
      if (!stopRebuild.signal.aborted)
        worker.run().catch((error: unknown) => logger.error({ err: error }, 'batch worker stopped'));
    });
    return new BatchLayer(queue, worker, workerRedis, ch, logic, alongside, {
      done: rollupsRebuilt,
      stop: () => stopRebuild.abort(),
    });
  }

  /**
   * Enqueues every hour of [from, to) for recompute, for every site or only `sites`; the same hour
   * and scope waiting twice is one job. Unknown sites are an answer, not an error.
   */
  async reprocess(
    from: Date,
    to: Date,
    sites?: string[],
  ): Promise<{ hours: number } | { unknownSites: string[] }> {
    if (sites?.length) {
      const known = new Set((await loadSites(this.ch)).map((s) => s.site_id));
      const unknownSites = sites.filter((s) => !known.has(s));
      if (unknownSites.length) return { unknownSites };
    }
    const hours: { hour: Date; reason: Reason; sites?: string[] | undefined }[] = [];
    for (let h = floorHour(from.getTime()); h < to.getTime(); h += HOUR_MS) {
      hours.push({ hour: new Date(h), reason: 'reprocess', sites });
    }
    await enqueue(this.queue, hours);
    return { hours: hours.length };
  }

  /**
   * What the reprocess command's progress bar counts: the hours (of [from, to) when given) committed
   * since `since` (epoch ms), whatever enqueued them (a reprocess of an hour the planner had already
   * queued runs as that one job), the failed attempts, and the events the committed runs read.
   */
  async runsSince(
    since: number,
    range?: { from: Date; to: Date },
  ): Promise<{ committed: number; failed: number; input_rows: number }> {
    const [row] = await (
      await this.ch.query({
        query: `SELECT uniqExactIf(hour, status = 'committed') AS committed, countIf(status = 'failed') AS failed,
                  sumIf(input_rows, status = 'committed') AS input_rows
                FROM batch_runs
                WHERE finished_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
                  AND hour >= toStartOfHour(fromUnixTimestamp64Milli({from:Int64}, 'UTC'))
                  AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
        query_params: {
          since,
          from: range?.from.getTime() ?? 0,
          to: range?.to.getTime() ?? 4_102_444_800_000,
        },
        format: 'JSONEachRow',
      })
    ).json<{ committed: number; failed: number; input_rows: number }>();
    return {
      committed: Number(row?.committed ?? 0),
      failed: Number(row?.failed ?? 0),
      input_rows: Number(row?.input_rows ?? 0),
    };
  }

  /**
   * Rebuilds one day of events_raw from the raw payloads with the current enrichment and swaps it in
   * (see rebuildRawDay). Runs in the request: the reprocess command asks for one day at a time.
   */
  async rebuildRaw(day: Date): Promise<RebuildOutcome> {
    return rebuildRawDay(this.ch, day);
  }

  async status(): Promise<BatchStatus> {
    const [watermark, jobs, runs] = await Promise.all([
      readWatermark(this.ch),
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'),
      this.ch
        .query({
          query: `SELECT hour, status, reason, logic_version, sites, input_rows, output_rows, duration_ms, error
                  FROM batch_runs WHERE status IN ('committed', 'failed')
                  ORDER BY finished_at DESC LIMIT 24`,
          format: 'JSONEachRow',
        })
        .then((r) => r.json<BatchStatus['last_runs'][number]>()),
    ]);
    return {
      watermark: watermark?.toISOString() ?? null,
      logic_version: this.logic.version,
      jobs,
      last_runs: runs,
    };
  }

  /** Settles when the rollup tables have their storage, or their rebuild failed (it is logged). */
  rollupsRebuilt(): Promise<void> {
    return this.rebuild.done;
  }

  /** Stops taking jobs, lets the running one finish, and closes the queue. */
  async close(): Promise<void> {
    this.rebuild.stop();
    await this.rebuild.done;
    await this.worker.close();
    await this.queue.close();
    this.workerRedis.disconnect();
    await this.alongside?.close();
  }
}

async function enqueue(
  queue: Queue,
  hours: { hour: Date; reason: Reason; sites?: string[] | undefined }[],
): Promise<void> {
  await queue.addBulk(
    hours.map(({ hour, reason, sites }) => {
      const scope = sites?.length ? [...new Set(sites)].sort() : undefined;
      return {
        name: 'recompute',
        data: {
          type: 'recompute',
          hour: hour.toISOString(),
          reason,
          ...(scope && { sites: scope }),
        } satisfies BatchJob,
        // One waiting job per hour and scope: planning twice does not recompute twice, and a
        // reprocess of a few sites never stands in for a waiting recompute of every site.
        opts: { jobId: `recompute-${hour.toISOString()}${scope ? `-${scopeKey(scope)}` : ''}` },
      };
    }),
  );
}

const LOCK_MS = 60_000;
/** Each run's lock: an hour's recompute, or the cleanup (named `cleanup`). */
const lockPrefix = (queue: string) => `sightline:batch-hour-lock:${queue}:`;
/** While it exists no run starts: a rollup rebuild holds it (rebuildRollupsPaused). */
const pauseKey = (queue: string) => `sightline:batch-pause:${queue}`;

/** Deletes `key` only if it still holds `owner` (compare and delete in one step). */
const release = (redis: Redis, key: string, owner: string) =>
  redis
    .eval(
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end",
      1,
      key,
      owner,
    )
    .catch(() => {});

/**
 * Holds `key` for `owner` in Redis while `body` runs: renewed meanwhile, gone a minute after a worker
 * that died holding it.
 */
async function holding<T>(redis: Redis, key: string, owner: string, body: () => Promise<T>): Promise<T> {
  const renew = setInterval(() => void redis.pexpire(key, LOCK_MS).catch(() => {}), LOCK_MS / 3);
  try {
    return await body();
  } finally {
    clearInterval(renew);
    await release(redis, key, owner);
  }
}

/**
 * Runs `body` unless another run of the same name holds its lock, or a rollup rebuild holds the
 * pause (then undefined). A site-scoped run carries the other sites over from the run committed when
 * it started, so two runs of one hour at once (BATCH_CONCURRENCY > 1, or several batch workers) would
 * let the later commit bring back the earlier one's sites as they were. The pause is read after the
 * lock is taken, and the rebuild waits for every lock after setting the pause, so no run writes the
 * rollups while they are copied.
 */
async function exclusively<T>(
  redis: Redis,
  queue: string,
  name: string,
  body: () => Promise<T>,
): Promise<T | undefined> {
  const key = `${lockPrefix(queue)}${name}`;
  const owner = randomUUID();
  if (!(await redis.set(key, owner, 'PX', LOCK_MS, 'NX'))) return undefined;
  if (await redis.exists(pauseKey(queue))) {
    await release(redis, key, owner);
    return undefined;
  }
  return holding(redis, key, owner, body);
}

/** How long a rebuild waits for the runs under way to finish before it gives up until next start. */
const PAUSE_WAIT_MS = 15 * 60_000;

async function anyRunLocked(redis: Redis, queue: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${lockPrefix(queue)}*`, 'COUNT', 1000);
    if (keys.length > 0) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}

/**
 * Rebuilds the rollup tables whose storage is not rollupStorage's (rebuild-rollups.ts) while no run
 * writes them: sets the pause (one instance of the batch layer does it; the others' runs wait), waits
 * for the runs under way, rebuilds, and lifts the pause. Readers are not held up; the watermark
 * stands still for the copy's time, and the next plan catches up. `signal` stops it between months.
 */
async function rebuildRollupsPaused(
  ch: ClickHouseClient,
  redis: Redis,
  queue: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  // Nothing to rebuild: no pause. rebuildRollups reads the tables again under the pause, since
  // another instance may have rebuilt them meanwhile.
  if ((await tablesToRebuild(ch)).length === 0) return;
  const owner = randomUUID();
  if (!(await redis.set(pauseKey(queue), owner, 'PX', LOCK_MS, 'NX'))) return;
  await holding(redis, pauseKey(queue), owner, async () => {
    logger.info('rollup rebuild: pausing the batch runs');
    const deadline = Date.now() + PAUSE_WAIT_MS;
    while (await anyRunLocked(redis, queue)) {
      if (Date.now() > deadline) throw new Error('batch runs still under way after 15 minutes');
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 500));
    }
    const done = await rebuildRollups(ch, logger, signal);
    logger.info(done, 'rollup rebuild: done; batch runs resume');
  });
}

function scopeKey(sites: string[]): string {
  return createHash('sha256').update(sites.join('\n')).digest('hex').slice(0, 16);
}
