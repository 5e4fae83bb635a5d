import type { FastifyPluginAsync } from 'fastify';

/** A dependency check: resolves when the dependency can do its job, rejects with why not. */
export interface Check {
  run: () => Promise<unknown>;
  /** A failing required check makes /ready answer 503; others are reported only. */
  required: boolean;
}

/**
 * /health says the process is alive; /ready says whether it should get traffic, with each check's
 * state. Redis is reported but not required: ingest keeps accepting without it.
 */
export const healthRoutes =
  (checks: Record<string, Check>): FastifyPluginAsync =>
  async (app) => {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await withTimeout(check.run(), 2000);
            return { name, required: check.required, status: 'ok' };
          } catch (error) {
            return {
              name,
              required: check.required,
              status: error instanceof Error ? error.message : String(error),
            };
          }
        }),
      );
      const ready = results.every((r) => r.status === 'ok' || !r.required);
      return reply
        .code(ready ? 200 : 503)
        .send({ ready, checks: Object.fromEntries(results.map((r) => [r.name, r.status])) });
    });
  };

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
