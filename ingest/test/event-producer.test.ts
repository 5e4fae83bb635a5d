import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredEvent } from '@sightline/core';
import { makeStoredEvent } from '@sightline/core/testing';
import { toMessages } from '../src/event-producer.js';

const rowsOf = (value: unknown) =>
  String(value)
    .split('\n')
    .map((row) => JSON.parse(row) as StoredEvent);

describe('the Kafka messages of a produce request', () => {
  it("puts up to 100 events of a site in one message, one JSON row each, in the site's order", () => {
    const events = Array.from({ length: 250 }, (_, i) => makeStoredEvent({ site_id: i % 5 ? 'a' : 'b' }));
    const messages = toMessages(events);
    assert.deepEqual(
      messages.map((m) => [m.key, rowsOf(m.value).length]),
      [
        ['a', 100],
        ['a', 100],
        ['b', 50],
      ],
    );
    for (const site of ['a', 'b'])
      assert.deepEqual(
        messages.filter((m) => m.key === site).flatMap((m) => rowsOf(m.value)),
        events.filter((e) => e.site_id === site),
      );
  });

  it('sends an event ClickHouse may refuse alone, after the rows of its site that came before it', () => {
    const [first, second, last] = [makeStoredEvent(), makeStoredEvent(), makeStoredEvent()];
    const revenue = makeStoredEvent({ revenue_amount: '1e+21', revenue_currency: 'EUR' });
    const surrogate = makeStoredEvent({ url: 'https://test.example/\ud800' });
    const messages = toMessages([first!, revenue, second!, surrogate, last!]);
    assert.deepEqual(
      messages.map((m) => rowsOf(m.value).map((e) => e.event_id)),
      [[first!.event_id], [revenue.event_id], [second!.event_id], [surrogate.event_id], [last!.event_id]],
    );
  });
});
