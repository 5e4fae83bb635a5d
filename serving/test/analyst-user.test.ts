import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { analystUserSql, readSchema } from '../src/analyst-user.js';
import { type ServingHarness, servingHarness } from './harness.js';

describe('analyst users for cluster mode: read-only, row policies on site_id', () => {
  let h: ServingHarness;
  before(async () => {
    h = await servingHarness('serving-analyst-user');
  });
  after(() => h?.close());

  it('makes statements ClickHouse parses, with a policy on every table that has site_id', async () => {
    const schema = await readSchema(h.pool.client, 'default');
    const { statements, password } = analystUserSql(
      { user: 'acme', sites: ['s_a', 's_b'], cluster: 'main' },
      schema,
    );
    assert.match(password, /^[A-Za-z0-9_-]{32}$/);
    assert.match(
      statements[0]!,
      /^CREATE USER IF NOT EXISTS acme ON CLUSTER main .*SETTINGS readonly = 1, max_execution_time = 60/,
    );
    assert.ok(statements.includes('GRANT ON CLUSTER main SELECT ON analyst.* TO acme'));
    const policies = statements
      .filter((s) => s.startsWith('CREATE ROW POLICY'))
      .map((s) => /ON default\.(\w+)/.exec(s)?.[1]);
    for (const table of ['events_raw', 'speed_hourly', 'batch_hourly', 'sites'])
      assert.ok(policies.includes(table), `a policy on ${table}: ${policies.join(', ')}`);
    for (const statement of statements.filter((s) => s.startsWith('CREATE ROW POLICY')))
      assert.ok(statement.endsWith("FOR SELECT USING site_id IN ('s_a', 's_b') TO acme"), statement);
    const granted = statements.filter((s) => s.startsWith('GRANT')).join('\n');
    for (const hidden of ['events_queue', 'events_dead_letter', 'api_keys', 'schema_migrations'])
      assert.ok(!granted.includes(`default.${hidden} `), `${hidden} is not granted`);
    assert.ok(granted.includes('default.hourly_merged '), 'the merge view the analyst views read');
    for (const statement of statements) {
      // ClickHouse's own parser accepts each statement (chDB has no users to create them on).
      const parsed = await h.pool.client.exec({
        query: `EXPLAIN AST ${statement}`,
        clickhouse_settings: { default_format: 'TabSeparatedRaw' },
      });
      for await (const _ of parsed.stream) {
        // drained: the statement parsed
      }
    }
  });

  it('refuses names and sites that are not plain identifiers', () => {
    assert.throws(() => analystUserSql({ user: "x'; DROP", sites: ['s_a'] }, []));
    assert.throws(() => analystUserSql({ user: 'x', sites: ["s_a') OR 1=1 --"] }, []));
    assert.throws(() => analystUserSql({ user: 'x', sites: [] }, []));
    assert.throws(() => analystUserSql({ user: 'x', sites: ['s_a'], password: "p' OR '" }, []));
  });
});
