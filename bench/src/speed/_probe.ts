import { measureThroughput } from './throughput.js';

const r = await measureThroughput({
  events: Number(process.env.N ?? 300000),
  partitions: 4,
  sites: 200,
  windowMs: 3600_000,
  timeoutSeconds: 300,
  progress: (l) => console.log(l),
});
console.log(JSON.stringify(r.samples.map((s) => [Math.round(s.t), s.raw, Math.round(s.queryMs)])));
console.log(r.allDoneMs, r.events / (r.allDoneMs! / 1000));
process.exit(0);
