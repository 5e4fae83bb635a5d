import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const start = path.resolve(import.meta.dirname, '../src/start.ts');

function runStart(env: Record<string, string>, args: string[] = []) {
  return spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', start, ...args], {
    env: { HOME: process.env.HOME ?? '/root', PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm start, as a person meets it', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sightline-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--help says what it does and how to configure it', () => {
    const run = runStart({}, ['--help']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /Usage: npm start \[-- --demo\]/);
    assert.match(run.stdout, /--demo/);
  });

  it('a bad setting stops the start with one line naming the variable', () => {
    const run = runStart({ PORT: 'eighty', DATA_DIR: dir });
    assert.equal(run.status, 2);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${run.stderr}`);
    assert.match(lines[0]!, /^sightline: invalid configuration: PORT="eighty": /);
  });

  it('a missing prerequisite stops the start with one line saying what to install', async () => {
    // A PATH holding only node: no java, no apt-get to install it with.
    const bin = path.join(dir, 'bin');
    await import('node:fs/promises').then((fs) => fs.mkdir(bin));
    await symlink(process.execPath, path.join(bin, 'node'));
    const run = runStart({ PATH: bin, DATA_DIR: path.join(dir, 'data'), PORT: '0' });
    assert.equal(run.status, 2);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, got: ${run.stderr}`);
    assert.match(
      lines[0]!,
      /^sightline: The local Kafka needs Java 17\+ .*apt-get install openjdk-17-jre-headless.*KAFKA_BROKERS/,
    );
  });
});
