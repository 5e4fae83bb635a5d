import { createHash } from 'node:crypto';
import type { Redis } from '@sightline/core';
import { type QueryReader, runQuery } from './query/run.js';

/**
 * What authoritative numbers depend on: the watermark and the last batch commit (a reprocess or a
 * late-event re-commit changes hours below the watermark without moving it). A cache entry keyed
 * by both can never serve numbers a commit has replaced.
 */
export interface BatchVersion {
  watermark: number;
  lastCommit: string;
}

export async function readBatchVersion(ctx: QueryReader): Promise<BatchVersion> {
  const [row] = await runQuery<{ watermark: number | string; lastCommit: string }>(
    ctx,
    `SELECT toUnixTimestamp((SELECT watermark FROM batch_watermark)) * 1000 AS watermark,
       toString(max(committed_at)) AS lastCommit FROM batch_commits`,
    {},
  );
  return { watermark: Number(row?.watermark ?? 0), lastCommit: row?.lastCommit ?? '' };
}

/**
 * Answers of fully authoritative ranges, kept in Redis. The caller stores only answers whose range
 * ends at or before `version.watermark`; the entry's key holds the query and the batch version, so a
 * commit makes every older entry unreachable (they expire after `ttlSeconds`). Redis down: a miss,
 * never a refusal.
 */
export class ResponseCache {
  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; ttlSeconds: number },
  ) {}

  get(key: string, version: BatchVersion): Promise<string | null> {
    return this.redis.get(this.#redisKey(key, version)).catch(() => null);
  }

  async put(key: string, version: BatchVersion, value: string): Promise<void> {
    await this.redis
      .set(this.#redisKey(key, version), value, 'EX', this.options.ttlSeconds)
      .catch(() => undefined);
  }

  #redisKey(key: string, version: BatchVersion): string {
    const id = createHash('sha256')
      .update(`${key}\n${version.watermark}\n${version.lastCommit}`)
      .digest('base64url');
    return `${this.options.prefix}:${id}`;
  }
}
