import { createHash, randomBytes } from 'node:crypto';
import { type ClickHouseClient, siteIdSchema, toClickHouseTime } from '@sightline/core';
import { z } from 'zod';

export const scopes = ['read', 'write', 'admin'] as const;
export type Scope = (typeof scopes)[number];

/** What a key may do: read (query API and SQL) or write (events) for its sites; admin: everything. */
export interface ApiKey {
  key_id: string;
  name: string;
  prefix: string;
  scope: Scope;
  sites: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export const newKeySchema = z
  .strictObject({
    sites: z
      .array(siteIdSchema)
      .max(1000)
      .default([])
      .meta({ description: 'the sites the key reads; none for admin keys' }),
    scope: z.enum(scopes).default('read'),
    name: z.string().max(200).default(''),
    expires_at: z.iso
      .datetime({ offset: true })
      .transform((t) => new Date(t))
      .refine((t) => t.getTime() > Date.now(), 'must be in the future')
      .optional(),
  })
  .refine((k) => k.scope === 'admin' || k.sites.length > 0, {
    message: 'a read or write key needs at least one site',
    path: ['sites'],
  })
  .refine((k) => k.scope !== 'admin' || k.sites.length === 0, {
    message: 'an admin key reaches every site; give no sites',
    path: ['sites'],
  });
export type NewKey = z.infer<typeof newKeySchema>;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A key: `sl_` and 43 base64url characters (256 random bits). */
function newKeySecret(): string {
  return `sl_${randomBytes(32).toString('base64url')}`;
}

const columns = 'key_id, name, prefix, scope, sites, created_at, expires_at, revoked_at';

/** Stores a new key's hash and answers the key itself, which is never stored nor shown again. */
export async function createKey(ch: ClickHouseClient, input: NewKey): Promise<ApiKey & { key: string }> {
  const key = newKeySecret();
  const row: ApiKey = {
    key_id: `k_${randomBytes(9).toString('base64url')}`,
    name: input.name,
    prefix: key.slice(0, 9),
    scope: input.scope,
    sites: [...new Set(input.sites)],
    created_at: toClickHouseTime(Date.now()),
    expires_at: input.expires_at ? toClickHouseTime(input.expires_at.getTime()) : null,
    revoked_at: null,
  };
  await ch.insert({
    table: 'api_keys',
    values: [{ ...row, key_hash: hashKey(key), version: Date.now() }],
    format: 'JSONEachRow',
  });
  return { key, ...row };
}

export async function listKeys(ch: ClickHouseClient): Promise<ApiKey[]> {
  const result = await ch.query({
    query: `SELECT ${columns} FROM api_keys FINAL ORDER BY created_at, key_id`,
    format: 'JSONEachRow',
  });
  return result.json<ApiKey>();
}

export async function findKeyByHash(ch: ClickHouseClient, keyHash: string): Promise<ApiKey | undefined> {
  const result = await ch.query({
    query: `SELECT ${columns} FROM api_keys FINAL WHERE key_hash = {hash:String}`,
    query_params: { hash: keyHash },
    format: 'JSONEachRow',
  });
  return (await result.json<ApiKey>())[0];
}

/** Marks a key revoked; answers its hash (to drop it from caches), or undefined for an unknown key. */
export async function revokeKey(ch: ClickHouseClient, keyId: string): Promise<string | undefined> {
  const result = await ch.query({
    query: `SELECT * EXCEPT version FROM api_keys FINAL WHERE key_id = {id:String}`,
    query_params: { id: keyId },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<ApiKey & { key_hash: string }>();
  if (!row) return undefined;
  if (!row.revoked_at) {
    await ch.insert({
      table: 'api_keys',
      values: [{ ...row, revoked_at: toClickHouseTime(Date.now()), version: Date.now() }],
      format: 'JSONEachRow',
    });
  }
  return row.key_hash;
}

/** Whether a key may be used now. */
export function keyUsable(key: ApiKey, now = Date.now()): boolean {
  if (key.revoked_at) return false;
  return !key.expires_at || Date.parse(`${key.expires_at.replace(' ', 'T')}Z`) > now;
}
