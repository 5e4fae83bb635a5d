import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BodyBudget } from '../src/body-budget.js';
import { type IngestHarness, ingestHarness, site } from './harness.js';

describe('the budget of request bodies held at once', () => {
  it('lets bytes in while they fit, then one waiting request at a time in arrival order', async () => {
    const budget = new BodyBudget(100);
    assert.equal(budget.enter(60), undefined);
    const order: string[] = [];
    const second = budget.enter(50)?.then(() => order.push('second'));
    const third = budget.enter(10)?.then(() => order.push('third'));
    assert.ok(second && third, 'both wait: the first in line does not fit, and the next waits its turn');
    await sleep(10);
    assert.deepEqual(order, []);
    budget.leave(60);
    await Promise.all([second, third]);
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(budget.heldBytes, 60);
  });

  it('lets a body larger than the whole budget in when nothing else is held', async () => {
    const budget = new BodyBudget(100);
    assert.equal(budget.enter(500), undefined);
    const next = budget.enter(1);
    assert.ok(next);
    budget.leave(500);
    await next;
    assert.equal(budget.heldBytes, 1);
  });
});

describe('ingest routes within a body budget, on the real Kafka', () => {
  const budget = new BodyBudget(1, 300);
  let h: IngestHarness;
  let port: number;
  before(async () => {
    h = await ingestHarness('ingest-body-budget', [site()], {}, { bodyBudget: budget });
    port = Number(new URL(await h.app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  after(async () => {
    await h?.close();
  });

  const post = () =>
    h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 Firefox/130.0' },
      payload: JSON.stringify({
        events: [1, 2].map(() => ({ site_id: 's_shop', name: 'pageview', url: 'https://shop.example/' })),
      }),
    });

  it('reads a body only once the bodies held before it are answered, and gives every byte back', async () => {
    assert.equal(budget.enter(1), undefined);
    let answered = false;
    const waiting = post().then((r) => {
      answered = true;
      return r;
    });
    // A request without a body is not held back.
    assert.equal((await h.app.inject({ method: 'GET', url: '/t.js' })).statusCode, 200);
    await sleep(200);
    assert.equal(answered, false);
    budget.leave(1);
    assert.equal((await waiting).statusCode, 202);

    const together = await Promise.all([post(), post(), post()]);
    assert.deepEqual(
      together.map((r) => r.statusCode),
      [202, 202, 202],
    );
    assert.equal(budget.heldBytes, 0);
  });

  it('gives back the bytes of a client that left while it waited', async () => {
    assert.equal(budget.enter(1), undefined);
    const body = JSON.stringify({ site_id: 's_shop', name: 'pageview', url: 'https://shop.example/' });
    const req = httpRequest({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/events',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => {});
    req.write(body);
    await sleep(200);
    req.destroy();
    await sleep(100);
    budget.leave(1);
    await sleep(100);
    assert.equal(budget.heldBytes, 0);
    // And the budget still lets the next request through.
    assert.equal((await post()).statusCode, 202);
  });

  it('gives back the bytes of a body still arriving after readWithinMs: a slow client holds nobody back', async () => {
    const slow = httpRequest({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/v1/events',
      headers: { 'content-type': 'application/json', 'content-length': 10_000 },
    });
    slow.on('error', () => {});
    slow.write('{"site_id":');
    await sleep(100);
    assert.equal(budget.heldBytes, 10_000);
    const answer = await Promise.race([post(), sleep(3000).then(() => undefined)]);
    assert.ok(answer, 'answered while the slow body was still arriving');
    assert.equal(answer.statusCode, 202);
    assert.equal(budget.heldBytes, 0);
    slow.destroy();
  });
});
