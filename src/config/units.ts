/**
 * Parsing of the human units the config file accepts: durations (`500ms`, `2s`, `1m`, `24h`, `7d`) and sizes
 * (`512kb`, `1mb`, `1gb`). Sizes are binary: 1kb = 1024 bytes, as Fastify's `bodyLimit` and most brokers count.
 */

const DURATION_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?$/i;

function parseWithUnits(
  input: unknown,
  re: RegExp,
  units: Readonly<Record<string, number>>,
  bare: string,
): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const match = re.exec(input.trim());
  if (!match) return undefined;
  const factor = units[(match[2] ?? bare).toLowerCase()];
  if (factor === undefined) return undefined;
  const value = Number(match[1]) * factor;
  // Fractions are fine when they land on a whole unit (1.5kb = 1536 bytes, 0.5s = 500 ms).
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Milliseconds in a duration: a non-negative integer (taken as milliseconds) or a string of a number and an
 * optional unit `ms`, `s`, `m` (minutes), `h` or `d`, case-insensitive, e.g. `500ms`, `2s`, `1.5h`.
 * Returns `undefined` for anything else, including results that are not a whole number of milliseconds.
 */
export function parseDuration(input: unknown): number | undefined {
  return parseWithUnits(input, DURATION_RE, DURATION_MS, 'ms');
}

/**
 * Bytes in a size: a non-negative integer (bytes) or a string of a number and an optional unit `b`, `kb`,
 * `mb`, `gb` or `tb` (powers of 1024), case-insensitive, e.g. `512kb`, `4mb`, `1gb`.
 * Returns `undefined` for anything else, including fractions of a byte.
 */
export function parseSize(input: unknown): number | undefined {
  return parseWithUnits(input, SIZE_RE, SIZE_BYTES, 'b');
}
