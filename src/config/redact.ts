import type { Config } from './types.js';

/**
 * Keys whose values are secrets wherever they appear. API keys are stored only as hashes (`auth.keys[i].sha256`),
 * which are masked too: a hash of a weak key can be brute-forced.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'secret', 'sha256']);

/**
 * Replaces any URL password in `text` with `***` (`amqp://guest:***@host`). Works on malformed URLs too
 * (`amqp//u:p@h`, `u:p@h`), and masks up to the last `@` of an authority so an unescaped `@` leaks nothing.
 */
export function redactUrl(text: string): string {
  return text.replace(/((?:\/\/|^|[\s,])[^\s:@/,]*:)[^\s/]*@/g, '$1***@');
}

/** Whether the value at this config path is a secret (a password, a JWT secret, an API key). */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  return path.some((segment) => typeof segment === 'string' && SECRET_KEYS.has(segment));
}

function redactValue(value: unknown, path: (string | number)[]): unknown {
  if (typeof value === 'string') return isSecretPath(path) ? '***' : redactUrl(value);
  if (Array.isArray(value)) return value.map((item, i) => redactValue(item, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, [...path, key]);
    return out;
  }
  return value;
}

/**
 * A deep copy of `config` that is safe to log: passwords in URLs become `***`, and SASL and Sentinel
 * passwords, the JWT secret and API key hashes become `***`. The copy is not frozen; `config` is not touched.
 */
export function redactConfig(config: Config): Config {
  return redactValue(config, []) as Config;
}
