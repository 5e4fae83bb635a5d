#!/usr/bin/env node
// npm start: install what is missing, build, then run the embedded service.
import { checkNode, ensureInstalled, handOver, run } from './bootstrap.mjs';

checkNode();
ensureInstalled();
console.log('Building…');
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
handOver(['--enable-source-maps', 'scripts/dist/start.js', ...process.argv.slice(2)]);
