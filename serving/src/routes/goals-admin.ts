import {
  type ClickHouseClient,
  errorBody,
  loadSites,
  siteIdSchema,
  toClickHouseTime,
  zodDetails,
} from '@sightline/core';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';

/** A goal as the admin API shows it. */
export interface Goal {
  site_id: string;
  name: string;
  /** Set for a custom-event goal: the event name that converts. */
  event_name: string | null;
  /** Set for a page goal: the path pattern, `*` matching any characters. */
  page_path: string | null;
  created_at: string;
}

const MAX_GOALS_PER_SITE = 100;

const goalBody = z
  .strictObject({
    name: z.string().trim().min(1).max(120).optional(),
    event_name: z.string().trim().min(1).max(120).optional(),
    page_path: z
      .string()
      .trim()
      .min(1)
      .max(2048)
      .regex(/^\//, 'must start with / (a path such as /checkout/*)')
      .optional(),
  })
  .refine((g) => (g.event_name === undefined) !== (g.page_path === undefined), {
    message: 'give exactly one of event_name and page_path',
    path: ['event_name'],
  });

/**
 * The anchored regular expression of a page pattern: `*` matches any run of characters (slashes
 * too, so /blog/* matches /blog/a/b), everything else matches itself. The recompute matches
 * pageview paths with it (re2 syntax).
 */
export function pagePathRegex(pattern: string): string {
  return `^${pattern
    .split('*')
    .map((part) => part.replace(/[.^$|()[\]{}+?\\]/g, '\\$&'))
    .join('.*')}$`;
}

export async function listGoals(
  ch: ClickHouseClient,
  siteId: string,
): Promise<(Goal & { version: number })[]> {
  const result = await ch.query({
    query: `SELECT site_id, name, event_name, page_path, toString(created_at) AS created_at, version
            FROM site_goals FINAL WHERE site_id = {site:String} AND NOT deleted ORDER BY name`,
    query_params: { site: siteId },
    format: 'JSONEachRow',
  });
  return (await result.json<Record<string, string>>()).map((g) => ({
    site_id: g.site_id!,
    name: g.name!,
    event_name: g.event_name || null,
    page_path: g.page_path || null,
    created_at: `${g.created_at!.replace(' ', 'T')}Z`,
    version: Number(g.version),
  }));
}

async function writeGoal(
  ch: ClickHouseClient,
  goal: { site_id: string; name: string; event_name: string; page_path: string; deleted: boolean },
  createdAt: number,
  version: number,
): Promise<void> {
  await ch.insert({
    table: 'site_goals',
    values: [
      {
        ...goal,
        page_regex: goal.page_path ? pagePathRegex(goal.page_path) : '',
        created_at: toClickHouseTime(createdAt),
        version,
      },
    ],
    format: 'JSONEachRow',
  });
}

/**
 * POST, GET /v1/admin/sites/:site/goals and DELETE /v1/admin/sites/:site/goals/:name; admin auth
 * is the caller's hook. Goals count in the batch numbers of the hours recomputed after they are
 * saved: reprocess a range to apply a new goal to it.
 */
export const goalsAdminRoutes =
  (ch: ClickHouseClient): FastifyPluginAsync =>
  async (app) => {
    const site = async (raw: string) => {
      const parsed = siteIdSchema.safeParse(raw);
      if (!parsed.success) return undefined;
      return (await loadSites(ch)).find((s) => s.site_id === parsed.data);
    };
    const unknownSite = (id: string) =>
      errorBody('unknown_site', `site ${id} is not registered`, [
        { path: 'site', message: 'not registered' },
      ]);

    app.get<{ Params: { site: string } }>('/v1/admin/sites/:site/goals', async (request, reply) => {
      if (!(await site(request.params.site))) return reply.code(404).send(unknownSite(request.params.site));
      return { goals: await listGoals(ch, request.params.site) };
    });

    app.post<{ Params: { site: string } }>('/v1/admin/sites/:site/goals', async (request, reply) => {
      const siteId = request.params.site;
      if (!(await site(siteId))) return reply.code(404).send(unknownSite(siteId));
      const parsed = goalBody.safeParse(request.body);
      if (!parsed.success) {
        const details = zodDetails(parsed.error);
        return reply
          .code(400)
          .send(errorBody('invalid_goal', details.map((d) => `${d.path}: ${d.message}`).join('; '), details));
      }
      const { event_name = '', page_path = '' } = parsed.data;
      const name = parsed.data.name ?? (event_name || `Visit ${page_path}`);
      const existing = await listGoals(ch, siteId);
      if (existing.some((g) => g.name === name)) {
        return reply
          .code(409)
          .send(errorBody('goal_exists', `site ${siteId} already has a goal named ${JSON.stringify(name)}`));
      }
      if (existing.length >= MAX_GOALS_PER_SITE) {
        return reply
          .code(400)
          .send(errorBody('too_many_goals', `a site has at most ${MAX_GOALS_PER_SITE} goals`));
      }
      const createdAt = Date.now();
      // Microseconds of the wall clock: a goal saved again after a delete outranks the delete.
      await writeGoal(
        ch,
        { site_id: siteId, name, event_name, page_path, deleted: false },
        createdAt,
        createdAt * 1000,
      );
      const goal: Goal = {
        site_id: siteId,
        name,
        event_name: event_name || null,
        page_path: page_path || null,
        created_at: new Date(createdAt).toISOString(),
      };
      return reply.code(201).send(goal);
    });

    app.delete<{ Params: { site: string; name: string } }>(
      '/v1/admin/sites/:site/goals/:name',
      async (request, reply) => {
        const { site: siteId, name } = request.params;
        if (!(await site(siteId))) return reply.code(404).send(unknownSite(siteId));
        const goal = (await listGoals(ch, siteId)).find((g) => g.name === name);
        if (!goal) {
          return reply
            .code(404)
            .send(errorBody('unknown_goal', `site ${siteId} has no goal named ${JSON.stringify(name)}`));
        }
        await writeGoal(
          ch,
          {
            site_id: siteId,
            name,
            event_name: goal.event_name ?? '',
            page_path: goal.page_path ?? '',
            deleted: true,
          },
          Date.parse(goal.created_at),
          Math.max(goal.version + 1, Date.now() * 1000),
        );
        return reply.code(204).send();
      },
    );
  };
