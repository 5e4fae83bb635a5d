import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, it } from 'node:test';
import { testStack } from '@sightline/core/testing';
import { parseRoles, type RoleName } from '../src/roles.js';
import { freePort } from '../src/stack/index.js';

const roleScript = path.resolve(import.meta.dirname, '../src/role.ts');
const nodeArgs = ['--conditions=development', '--import', 'tsx', roleScript];

/** The environment a role's container would get: the test stack's config as variables. */
async function roleEnv(name: string, port: number) {
  const { config, cleanup } = await testStack(name);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };
  for (const [key, value] of Object.entries(config)) if (value !== undefined) env[key] = String(value);
  env.PORT = String(port);
  env.LOG_LEVEL = 'warn';
  return { env, cleanup };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<Response> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the role exited with ${child.exitCode}: ${stderr()}`);
    const response = await fetch(`${url}/ready`).catch(() => undefined);
    if (response?.status === 200) return response;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not ready within 120 s: ${stderr()}`);
}

/** What only that role serves or exports, so a role that started the wrong parts fails. */
const expectations: Record<RoleName, { metric: string; route: [string, string, number] }> = {
  // A bad event is a 400 naming the field: the ingest routes are there.
  ingest: { metric: 'sightline_ingest', route: ['POST', '/v1/events', 400] },
  speed: { metric: 'sightline_speed_consumer_lag', route: ['POST', '/v1/events', 404] },
  batch: { metric: 'sightline_batch_watermark_delay_seconds', route: ['GET', '/v1/sites', 404] },
  // Without a key, a read is a 401: the serving routes are there, behind authentication.
  serving: { metric: 'process_cpu', route: ['GET', '/v1/sites', 401] },
};

describe('each role runs alone, on its own port, with /health and /ready', () => {
  // chDB's data directory belongs to one process: the roles start one after another, each with its own.
  for (const role of ['ingest', 'speed', 'batch', 'serving'] as const) {
    it(`--role ${role} starts alone, is ready, serves its part only and stops on SIGTERM`, async () => {
      const port = await freePort();
      const { env, cleanup } = await roleEnv(`role-${role}`, port);
      const child = spawn(process.execPath, [...nodeArgs, '--role', role], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout?.resume();
      const url = `http://127.0.0.1:${port}`;
      try {
        const ready = await waitReady(url, child, () => stderr);
        const body = (await ready.json()) as { ready: boolean; checks: Record<string, string> };
        assert.equal(body.ready, true);
        assert.equal(body.checks.clickhouse, 'ok', JSON.stringify(body));
        if (role === 'ingest') assert.equal(body.checks.ingest, 'ok');
        else assert.equal(body.checks.ingest, undefined, 'only ingest checks its sink');
        assert.equal((await fetch(`${url}/health`)).status, 200);

        const { metric, route } = expectations[role];
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.ok(metrics.includes(metric), `${role} exports ${metric}`);
        if (role !== 'speed') assert.ok(!metrics.includes('sightline_speed_consumer_lag'), 'no lag monitor');
        const [method, routePath, status] = route;
        const answer = await fetch(`${url}${routePath}`, {
          method,
          ...(method === 'POST' && {
            headers: { 'content-type': 'application/json' },
            body: '{"name":"pageview"}',
          }),
        });
        assert.equal(answer.status, status, `${method} ${routePath} on ${role}`);
      } finally {
        child.kill('SIGTERM');
        const [code] = child.exitCode === null ? await once(child, 'exit') : [child.exitCode];
        await cleanup();
        assert.equal(code, 0, `exits cleanly on SIGTERM: ${stderr}`);
      }
    });
  }

  it('refuses an unknown role with one line, and --help lists the roles', () => {
    assert.deepEqual(parseRoles('ingest, serving'), ['ingest', 'serving']);
    assert.throws(() => parseRoles('ingest,worker'), /unknown role worker/);
    const env = { PATH: process.env.PATH ?? '', KAFKA_BROKERS: '127.0.0.1:1' };
    const bad = spawnSync(process.execPath, [...nodeArgs, '--role', 'worker'], { env, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(
      bad.stderr,
      /^sightline: --role: unknown role worker; one of ingest, speed, batch, serving\n$/,
    );
    const help = spawnSync(process.execPath, [...nodeArgs, '--help'], { env, encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const role of ['ingest', 'speed', 'batch', 'serving'])
      assert.match(help.stdout, new RegExp(`\\n  ${role} `));
  });
});
