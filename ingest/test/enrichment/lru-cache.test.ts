import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from '../../src/enrichment/lru-cache.js';

describe('LruCache', () => {
  it('never holds more than its capacity', () => {
    const cache = new LruCache<number, number>(3);
    for (let i = 0; i < 10; i++) cache.set(i, i);
    assert.equal(cache.size, 3);
    assert.deepEqual(
      [7, 8, 9].map((k) => cache.get(k)),
      [7, 8, 9],
    );
    assert.equal(cache.get(6), undefined);
  });

  it('evicts the least recently used key, counting reads as use', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
  });

  it('replaces a value without growing', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('a'), 2);
  });

  it('rejects a capacity below one', () => {
    assert.throws(() => new LruCache(0), RangeError);
  });
});
