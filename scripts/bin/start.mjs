#!/usr/bin/env node
// npm start: install what is missing, build, then run the embedded service.
import { checkNode, ensureInstalled, handOver, run } from './bootstrap.mjs';

checkNode();
ensureInstalled();
console.log('Building…');
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
// --max-semi-space-size=64 (MB, V8's default is 16): ingest allocates per event (the parsed body, the
// stored event, its JSON), and larger young-generation halves mean fewer scavenges. The ingest role
// beside itself without the flag, two runs each: 52-54 instead of 60-62 µs of CPU per event in
// 500-event requests, 21,900-23,300 instead of 19,600 events/s; single events about the same. It
// costs up to 96 MB more memory per process. Every launcher passes it: this one, `npm run role`
// (package.json), the image's entrypoint (docker/Dockerfile) and the benchmarks' launcher.
handOver([
  '--max-semi-space-size=64',
  '--enable-source-maps',
  'scripts/dist/start.js',
  ...process.argv.slice(2),
]);
