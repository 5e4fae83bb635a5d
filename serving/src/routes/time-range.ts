import { z } from 'zod';

/** A time bound of the admin API: ISO 8601 with a zone, or a date meaning its UTC midnight. */
export const timeBound = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((t) => new Date(t.length === 10 ? `${t}T00:00:00Z` : t));
