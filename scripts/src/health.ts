import type { FastifyPluginAsync } from 'fastify';

/** A named dependency check: resolves when the dependency answers, rejects otherwise. */
export type Check = () => Promise<unknown>;

/** /health says the process is alive; /ready says every dependency answers (503 listing the ones that do not). */
export const healthRoutes =
  (checks: Record<string, Check>): FastifyPluginAsync =>
  async (app) => {
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_request, reply) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            await withTimeout(check(), 2000);
            return [name, 'ok'] as const;
          } catch (error) {
            return [name, error instanceof Error ? error.message : String(error)] as const;
          }
        }),
      );
      const failing = results.filter(([, status]) => status !== 'ok');
      return reply
        .code(failing.length ? 503 : 200)
        .send({ ready: failing.length === 0, checks: Object.fromEntries(results) });
    });
  };

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
