import { randomUUID } from 'node:crypto';
import { type StoredEvent, toClickHouseTime } from '../event.js';

/** A valid stored event with every field set, for tests that write straight to Kafka or ClickHouse. */
export function makeStoredEvent(overrides: Partial<StoredEvent> & { at?: number } = {}): StoredEvent {
  const { at = Date.now(), ...fields } = overrides;
  return {
    event_id: randomUUID(),
    site_id: 'test-site',
    name: 'pageview',
    ts: toClickHouseTime(at),
    received_at: toClickHouseTime(at),
    url: 'https://test.example/',
    hostname: 'test.example',
    pathname: '/',
    referrer: '',
    props: {},
    revenue_amount: null,
    revenue_currency: '',
    interactive: true,
    referrer_source: '',
    channel: 'direct',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_content: '',
    utm_term: '',
    browser: 'Firefox',
    browser_version: '130',
    os: 'Linux',
    device: 'desktop',
    country: 'DE',
    is_bot: false,
    visitor_id: '1',
    enrich_version: 1,
    raw: '{}',
    ...fields,
  };
}
