import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildTrackerScript, trackerScript } from '../../src/tracker/index.js';

const BUDGET_BYTES = 2048;

test('the minified tracker stays under 2 KB gzipped', (t) => {
  const { code, gzipBytes } = trackerScript();
  const gzipped = gzipSync(code, { level: 9 });
  t.diagnostic(
    `t.js: ${code.length} bytes minified, ${gzipped.length} bytes gzipped (budget ${BUDGET_BYTES})`,
  );
  assert.equal(gunzipSync(gzipped).toString('utf8'), code);
  assert.equal(gzipBytes, gzipped.length);
  assert.ok(
    gzipped.length < BUDGET_BYTES,
    `${gzipped.length} bytes gzipped, over the ${BUDGET_BYTES} byte budget`,
  );
});

test('the script is built once, and its etag follows its content', () => {
  const first = trackerScript();
  assert.equal(trackerScript(), first);
  assert.match(first.etag, /^"[\w-]{22}"$/);
  assert.equal(buildTrackerScript(`${first.code}\n`).etag === first.etag, false);
  assert.equal(buildTrackerScript('(()=>{})()').etag, buildTrackerScript('(() => {})();').etag);
});
