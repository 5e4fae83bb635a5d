import { z } from 'zod';

/**
 * The dimensions of the rollups (speed_dimensions, batch_dimensions_hourly, merged in
 * dimensions_merged), plus `prop:<key>` for custom props. A name is used in SQL only as a bound
 * value of the `dimension` column, never as an identifier; the allowlist keeps answers meaningful.
 */
export const fixedDimensions = [
  'page',
  'entry_page',
  'exit_page',
  'referrer_source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'country',
  'browser',
  'os',
  'device',
  'event_name',
  'goal',
] as const;

export type Dimension = (typeof fixedDimensions)[number] | `prop:${string}`;

const propKey = /^prop:[A-Za-z0-9_.:/-]{1,100}$/;

export function isDimension(name: string): name is Dimension {
  return (fixedDimensions as readonly string[]).includes(name) || propKey.test(name);
}

export const dimensionSchema = z
  .string()
  .refine(isDimension, {
    message: `must be one of ${fixedDimensions.join(', ')} or prop:<key> (letters, digits, _ . : / -)`,
  })
  .transform((d) => d as Dimension);

/**
 * Dimensions of the visit (its entry page, exit page and acquisition): the batch layer counts visits
 * and bounces on their rows. The others are dimensions of each event.
 */
export const visitDimensions: readonly Dimension[] = [
  'entry_page',
  'exit_page',
  'referrer_source',
  'channel',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
];
