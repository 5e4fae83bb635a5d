import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
const docker = path.join(root, 'docker');
const secrets = {
  ADMIN_TOKEN: 'compose-test-admin-token',
  CLICKHOUSE_PASSWORD: 'compose-test-password',
  CLICKHOUSE_CLUSTER_SECRET: 'compose-test-secret',
};

/** `docker compose` (the plugin) or Debian's `docker-compose`, whichever answers. */
function composeTool(): string[] | undefined {
  for (const tool of [['docker', 'compose'], ['docker-compose']]) {
    const run = spawnSync(tool[0]!, [...tool.slice(1), 'version'], { encoding: 'utf8' });
    if (run.status === 0) return tool;
  }
  return undefined;
}

function compose(tool: string[], file: string, args: string[], env: Record<string, string> = secrets) {
  return spawnSync(tool[0]!, [...tool.slice(1), '-f', path.join(docker, file), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env },
    timeout: 60_000,
  });
}

/** The rendered config's block of one service (two-space indented keys under `services:`). */
function serviceBlock(rendered: string, service: string): string {
  const start = rendered.indexOf(`\n  ${service}:\n`);
  assert.ok(start >= 0, `service ${service} rendered`);
  const rest = rendered.slice(start + service.length + 5);
  const end = rest.search(/\n {2}\S|\n\S/);
  return end < 0 ? rest : rest.slice(0, end);
}

const roles = {
  'compose.yml': ['ingest', 'speed', 'batch', 'serving'],
  'compose.cluster.yml': ['ingest-1', 'ingest-2', 'serving-1', 'serving-2', 'speed', 'batch'],
};
const infrastructure = {
  'compose.yml': ['clickhouse', 'kafka', 'redis', 'migrate'],
  'compose.cluster.yml': [
    'kafka-1',
    'kafka-2',
    'kafka-3',
    'keeper-1',
    'keeper-2',
    'keeper-3',
    'ch-s1-r1',
    'ch-s1-r2',
    'ch-s2-r1',
    'ch-s2-r2',
    'redis',
    'lb',
    'migrate',
    'prometheus',
    'grafana',
  ],
};

describe('docker/: the compose files', () => {
  const tool = composeTool();
  for (const file of ['compose.yml', 'compose.cluster.yml'] as const) {
    it(`${file} is accepted by compose config, with health checks, limits and restart policies`, (t) => {
      if (!tool) {
        t.skip('neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)');
        return;
      }
      const quiet = compose(tool, file, ['config', '-q']);
      assert.equal(quiet.status, 0, quiet.stderr);
      const services = compose(tool, file, ['config', '--services']).stdout.trim().split('\n');
      for (const service of [...roles[file], ...infrastructure[file]])
        assert.ok(services.includes(service), `${file} has ${service}`);

      const rendered = compose(tool, file, ['config']).stdout;
      for (const service of roles[file]) {
        const block = serviceBlock(rendered, service);
        assert.match(block, /\n {4}healthcheck:\n[\s\S]*\/ready/, `${service}: readiness health check`);
        assert.match(block, /\n {4}restart: unless-stopped/, `${service}: restart policy`);
        assert.match(block, /\n {8}limits:\n[\s\S]*memory:/, `${service}: resource limits`);
        assert.match(
          block,
          /\n {6}target: (ingest|speed|batch|serving)\n/,
          `${service}: its Dockerfile stage`,
        );
        assert.match(block, /CLICKHOUSE_URL: http:\/\//, `${service}: a ClickHouse server`);
      }
      if (file === 'compose.cluster.yml') {
        assert.match(serviceBlock(rendered, 'speed'), /CLICKHOUSE_CLUSTER: main/);
        assert.match(serviceBlock(rendered, 'kafka-1'), /KAFKA_DEFAULT_REPLICATION_FACTOR: '3'/);
        assert.match(serviceBlock(rendered, 'batch'), /replicas: 2/);
      }
      assert.match(serviceBlock(rendered, 'redis'), /--appendonly[\s\S]*yes/, 'Redis persists');

      // Secrets are required: without them the config is refused, naming the variable.
      const bare = compose(tool, file, ['config', '-q'], {});
      assert.notEqual(bare.status, 0);
      assert.match(bare.stderr, /CLICKHOUSE_PASSWORD|ADMIN_TOKEN/);
    });
  }

  it('Prometheus accepts the alert rules (promtool)', (t) => {
    if (spawnSync('promtool', ['--version']).status !== 0) {
      t.skip('promtool is not installed (apt-get install prometheus)');
      return;
    }
    const run = spawnSync('promtool', ['check', 'rules', path.join(docker, 'prometheus/alerts.yml')], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /SUCCESS: \d+ rules found/);
  });

  it('one Dockerfile with a stage per role, running as a non-root user', async () => {
    const dockerfile = await readFile(path.join(docker, 'Dockerfile'), 'utf8');
    for (const role of ['ingest', 'speed', 'batch', 'serving', 'migrate'])
      assert.match(dockerfile, new RegExp(`^FROM runtime AS ${role}$`, 'm'));
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /scripts\/dist\/role\.js/);
  });

  it('the load balancer and Prometheus name services of the cluster file; alerts and dashboard use exported metrics', async () => {
    const cluster = await readFile(path.join(docker, 'compose.cluster.yml'), 'utf8');
    const nginx = await readFile(path.join(docker, 'nginx/nginx.conf'), 'utf8');
    const prometheus = await readFile(path.join(docker, 'prometheus/prometheus.yml'), 'utf8');
    const hosts = [
      ...[...nginx.matchAll(/server ([\w-]+):\d+/g)].map((m) => m[1]!),
      ...[...prometheus.matchAll(/"([\w-]+):\d+"/g)].map((m) => m[1]!),
    ];
    assert.ok(hosts.length >= 10);
    for (const host of hosts) assert.match(cluster, new RegExp(`\\n  ${host}:\\n`), `${host} is a service`);

    const exported = new Set<string>();
    for (const workspace of ['ingest', 'speed-layer', 'batch-layer', 'serving', 'scripts', 'core']) {
      const dir = path.join(root, workspace, 'src');
      for (const entry of await readdir(dir, { recursive: true })) {
        if (!entry.endsWith('.ts')) continue;
        const text = await readFile(path.join(dir, entry), 'utf8');
        for (const m of text.matchAll(/name: '(sightline_\w+)'/g)) exported.add(m[1]!);
      }
    }
    const alerts = await readFile(path.join(docker, 'prometheus/alerts.yml'), 'utf8');
    const dashboard = JSON.parse(await readFile(path.join(docker, 'grafana/sightline.json'), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const used = [alerts, ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))]
      .join('\n')
      .matchAll(/\b(sightline_\w+)/g);
    let count = 0;
    for (const [name] of used) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      assert.ok(exported.has(name) || exported.has(base), `${name} is registered on /metrics somewhere`);
      count++;
    }
    assert.ok(count > 10);
  });
});
