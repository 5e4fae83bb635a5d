import { randomBytes } from 'node:crypto';
import type { Logger, Redis } from '@sightline/core';

/**
 * The secret that makes visitor ids cookieless: one per UTC day, shared by every ingest instance
 * through Redis, and gone two days later, so yesterday's visitor cannot be linked to today's.
 */
export class VisitorSalts {
  #cache = new Map<number, Buffer>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async forDay(epochMs: number): Promise<Buffer> {
    const dayNumber = Math.floor(epochMs / 86_400_000);
    const cached = this.#cache.get(dayNumber);
    if (cached) return cached;
    const day = new Date(dayNumber * 86_400_000).toISOString().slice(0, 10);
    const key = `sightline:salt:${day}`;
    let salt: Buffer;
    try {
      // SET NX: the first instance to need today's salt makes it; the others read the same one.
      await this.redis.set(key, randomBytes(32).toString('base64'), 'EX', 2 * 86_400, 'NX');
      const stored = await this.redis.get(key);
      if (!stored) throw new Error(`visitor salt ${key} vanished right after it was set`);
      salt = Buffer.from(stored, 'base64');
    } catch (error) {
      // Redis down at the day's first event: a salt of this instance's own keeps events flowing.
      // Visitors seen by several instances today count once per instance; no event is lost.
      this.logger.warn(
        { err: error, day },
        'Redis unreachable; using an instance-local visitor salt for today',
      );
      salt = randomBytes(32);
    }
    if (this.#cache.size > 2) this.#cache.clear();
    this.#cache.set(dayNumber, salt);
    return salt;
  }
}
