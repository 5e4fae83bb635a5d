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
