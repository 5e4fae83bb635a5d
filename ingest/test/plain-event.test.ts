import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventInputSchema } from '@sightline/core';
import { plainEvent } from '../src/plain-event.js';

/** Values per key, valid and not, at and beyond the contract's limits; undefined leaves the key out. */
const values: Record<string, unknown[]> = {
  site_id: ['s_shop', '', 'a'.repeat(64), 'a'.repeat(65), 's shop', 'S.x-1_', 's_é', 5, null],
  name: ['pageview', '  signup ', '', '   ', 'x'.repeat(120), ` ${'x'.repeat(120)} `, 'x'.repeat(121), 7],
  url: [
    'https://shop.example/a?b=c#d',
    'http://shop.example',
    'HTTPS://WWW.Shop.Example:8443/p/',
    'ftp://shop.example/',
    'not a url',
    'javascript:alert(1)',
    `https://shop.example/${'a'.repeat(2048 - 21)}`,
    `https://shop.example/${'a'.repeat(2049 - 21)}`,
    3,
  ],
  referrer: [undefined, '', 'https://www.google.com/', 'x'.repeat(2048), 'x'.repeat(2049), 5, null],
  event_id: [
    undefined,
    '9b2f6f5e-3c1a-4d2b-8e7f-0a1b2c3d4e5f',
    '9B2F6F5E-3C1A-4D2B-BE7F-0A1B2C3D4E5F',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '01890a5d-ac96-774b-bcce-b302099a8057',
    '9b2f6f5e-3c1a-9d2b-8e7f-0a1b2c3d4e5f',
    '9b2f6f5e-3c1a-4d2b-7e7f-0a1b2c3d4e5f',
    'not-a-uuid',
    5,
  ],
  timestamp: [undefined, 0, -0, -1, 1.5, 1_795_000_000_000, 2 ** 53, '2026-11-27T01:00:00Z', null],
  interactive: [undefined, true, false, 'true', null],
};
const extras: Record<string, unknown>[] = [
  {},
  { props: { plan: 'pro' } },
  { revenue: { amount: 1, currency: 'EUR' } },
  { unknown: 1 },
];

function item(pick: (key: string, options: unknown[]) => unknown, extra: Record<string, unknown>) {
  const built: Record<string, unknown> = {};
  for (const [key, options] of Object.entries(values)) {
    const value = pick(key, options);
    if (value !== undefined) built[key] = value;
  }
  return { ...built, ...extra };
}

/** Every value of one key with the others valid, then seeded random mixes of the values. */
function corpus(): unknown[] {
  const items: unknown[] = [null, [], 'pageview', 5];
  for (const [changed, options] of Object.entries(values))
    for (const option of options)
      for (const extra of extras) items.push(item((key, o) => (key === changed ? option : o[0]), extra));
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor(seed / 65_536) % n;
  };
  // Mostly the first (valid) value, so that many mixes are valid as a whole.
  const mostlyFirst = <T>(o: T[]) => (random(4) ? o[0] : o[random(o.length)]);
  for (let i = 0; i < 3000; i++) items.push(item((_key, o) => mostlyFirst(o), mostlyFirst(extras)!));
  return items;
}

describe("the contract's checks without zod, for the common event", () => {
  it("accept only what the schema accepts, and give the schema's output and the parsed URL", () => {
    let taken = 0;
    for (const body of corpus()) {
      const plain = plainEvent(body);
      if (!plain) continue;
      taken++;
      const parsed = eventInputSchema.safeParse(body);
      assert.ok(parsed.success, `the schema refuses ${JSON.stringify(body)}`);
      // raw keeps JSON.stringify(input): the same keys in the same order.
      assert.equal(JSON.stringify(plain.input), JSON.stringify(parsed.data));
      assert.deepEqual(plain.input, parsed.data);
      assert.equal(plain.url.href, new URL(parsed.data.url).href);
    }
    assert.ok(taken > 300, `only ${taken} items took the path without zod`);
  });

  it('leave props, revenue and a timestamp as text to the schema', () => {
    const base = { site_id: 's_shop', name: 'pageview', url: 'https://shop.example/' };
    assert.ok(plainEvent(base));
    for (const extra of [
      { props: {} },
      { revenue: { amount: 1, currency: 'EUR' } },
      { timestamp: '2026-11-27T01:00:00Z' },
    ])
      assert.equal(plainEvent({ ...base, ...extra }), undefined);
  });
});
