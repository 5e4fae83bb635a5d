import { parseArgs } from 'node:util';

/** For the benchmarks' option parsing: a positive integer option, or the usage and exit code 2. */
export const positiveInteger =
  (usage: string) =>
  (name: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      console.error(`--${name} must be a positive integer\n\n${usage}`);
      process.exit(2);
    }
    return n;
  };

/**
 * The options of a run timed in minutes at a rate (the soak, bench:watermark): `--minutes M --rate R
 * [--no-record] [--help]`. The values, or the exit code to end with (0 after --help, 2 if invalid).
 */
export function minutesAndRate(
  command: string,
  help: string,
  defaults: { minutes: number; rate: number },
): { minutes: number; rate: number; record: boolean } | number {
  let values: { minutes?: string; rate?: string; 'no-record'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        minutes: { type: 'string', default: String(defaults.minutes) },
        rate: { type: 'string', default: String(defaults.rate) },
        'no-record': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`sightline ${command}: ${(error as Error).message} (see --help)`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  const minutes = Number(values.minutes);
  const rate = Number(values.rate);
  if (!(minutes > 0) || !(rate > 0)) {
    console.error(`sightline ${command}: --minutes and --rate must be positive numbers (see --help)`);
    return 2;
  }
  return { minutes, rate, record: !values['no-record'] };
}
