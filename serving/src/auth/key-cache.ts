import type { ClickHouseClient } from '@sightline/core';
import { type ApiKey, findKeyByHash, hashKey, keyUsable } from './keys.js';

/** A usable key with the domains of its sites (Plausible-style queries name a site by domain). */
export interface ResolvedKey extends ApiKey {
  domains: string[];
}

interface Entry {
  key: ResolvedKey | undefined;
  at: number;
}

const MAX_ENTRIES = 100_000;

/**
 * Keys looked up by hash and kept for `ttlMs`: one ClickHouse read per key per few seconds, however
 * many requests. A revocation drops the key here at once, and from every other instance's cache
 * within `ttlMs`. Unknown keys are remembered too, so guessing costs no ClickHouse read each time.
 */
export class KeyCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly ch: () => ClickHouseClient,
    private readonly ttlMs: number,
  ) {}

  async lookup(key: string): Promise<ResolvedKey | undefined> {
    const hash = hashKey(key);
    const now = Date.now();
    let entry = this.#entries.get(hash);
    if (!entry || now - entry.at >= this.ttlMs) {
      entry = { key: await this.#load(hash), at: now };
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.delete(hash);
      this.#entries.set(hash, entry);
    }
    return entry.key && keyUsable(entry.key, now) ? entry.key : undefined;
  }

  forget(keyHash: string): void {
    this.#entries.delete(keyHash);
  }

  async #load(hash: string): Promise<ResolvedKey | undefined> {
    const ch = this.ch();
    const key = await findKeyByHash(ch, hash);
    if (!key) return undefined;
    const result = await ch.query({
      query: 'SELECT domain FROM sites FINAL WHERE site_id IN {ids:Array(String)} AND NOT deleted',
      query_params: { ids: key.sites },
      format: 'JSONEachRow',
    });
    const domains = (await result.json<{ domain: string }>()).map((r) => r.domain);
    return { ...key, domains };
  }
}
