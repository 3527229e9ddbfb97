import type { Problem } from './paths.js';

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Checks of `auth` the schema cannot express: a JWT verifier has exactly one key (an HS256 `secret` or an
 * RS256 `publicKey`), and API key names are unique (ACL rules and rate limits are keyed by them).
 */
export function checkAuth(auth: unknown): Problem[] {
  if (!isMapping(auth)) return [];
  if (auth.mode === 'jwt') {
    const hasSecret = auth.secret !== undefined;
    const hasKey = auth.publicKey !== undefined;
    if (hasSecret && hasKey)
      return [{ path: ['auth'], message: 'set either secret (HS256) or publicKey (RS256), not both' }];
    if (!hasSecret && !hasKey) {
      return [
        { path: ['auth', 'secret'], message: 'missing; expected an HS256 secret, or publicKey for RS256' },
      ];
    }
  }
  if (auth.mode === 'apiKey' && Array.isArray(auth.keys)) {
    const seen = new Set<unknown>();
    const problems: Problem[] = [];
    auth.keys.forEach((key: unknown, i) => {
      if (!isMapping(key) || typeof key.name !== 'string') return;
      if (seen.has(key.name))
        problems.push({ path: ['auth', 'keys', i, 'name'], message: `duplicate key name "${key.name}"` });
      seen.add(key.name);
    });
    return problems;
  }
  return [];
}
