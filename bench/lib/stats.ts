/** Statistics over the rounds of a scenario. */

/** Median, min and max of one figure over the rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (the upper one for an even count), min and max of `xs`, rounded to 2 decimals. */
export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    median: r(s[Math.floor(s.length / 2)] ?? Number.NaN),
    min: r(s[0] ?? Number.NaN),
    max: r(s.at(-1) ?? Number.NaN),
  };
}

/** `a / b` of the medians, 2 decimals. */
export function ratio(a: Spread, b: Spread): number {
  return Math.round((a.median / b.median) * 100) / 100;
}

/** `median (min-max)` for the console and the docs table. */
export function fmt(s: Spread): string {
  return `${s.median} (${s.min}-${s.max})`;
}
