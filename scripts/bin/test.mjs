#!/usr/bin/env node
// npm test: install what is missing, lint and typecheck, then run every test against the real stack.
import { checkNode, ensureInstalled, handOver, run } from './bootstrap.mjs';

checkNode();
ensureInstalled();
const args = process.argv.slice(2);
if (!args.includes('--help') && !args.includes('-h')) {
  console.log('Lint and format check…');
  run('npx', ['biome', 'check', '.']);
  console.log('Typecheck…');
  run('npx', ['turbo', 'run', 'typecheck', '--output-logs=errors-only']);
}
handOver(['--conditions=development', '--import', 'tsx', 'scripts/src/run-tests.ts', ...args]);
