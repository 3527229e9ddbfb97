import { isSecretPath, redactUrl } from './redact.js';

/** What a schema node expects, in words, for error lines: "an integer 0-65535", "one of a, b". */

type Node = Record<string, unknown>;

const FORMATS: Readonly<Record<string, string>> = {
  'host-port': 'host:port',
  'amqp-url': 'an amqp:// or amqps:// URL',
  'redis-url': 'a redis:// or rediss:// URL',
  'postgres-url': 'a postgres:// or postgresql:// URL',
  'route-glob': 'an exact topic name or a glob such as orders.* or *',
};

const UNITS: Readonly<Record<string, string>> = {
  size: 'a size like 512kb, 4mb or 1gb (or a number of bytes)',
  duration: 'a duration like 500ms, 2s, 1m or 24h (or a number of milliseconds)',
};

/** Allowed values of a discriminated union's tag. */
export function tagValues(node: Node): string[] {
  const tag = (node.discriminator as { propertyName: string }).propertyName;
  return (node.oneOf as Node[]).map((branch) => String(((branch.properties as Node)[tag] as Node).const));
}

/** The expectation of `node` as a phrase that follows "must be". */
export function describe(node: Node | undefined): string {
  if (!node) return 'absent';
  // A schema may name its expectation when its pattern says it badly (`'x-expect': 'an http(s) URL'`).
  if (typeof node['x-expect'] === 'string') return node['x-expect'];
  if (typeof node['x-unit'] === 'string') return UNITS[node['x-unit']] ?? 'a value';
  if (Array.isArray(node.enum)) return `one of ${node.enum.join(', ')}`;
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.discriminator) {
    const tag = (node.discriminator as { propertyName: string }).propertyName;
    return `a mapping with ${tag}: ${tagValues(node).join(' | ')}`;
  }
  switch (node.type) {
    case 'integer':
      return describeInteger(node);
    case 'boolean':
      return 'true or false';
    case 'string':
      return FORMATS[String(node.format)] ?? (node.minLength === 1 ? 'a non-empty string' : 'a string');
    case 'array': {
      const items = describe(node.items as Node);
      return `a ${Number(node.minItems) > 0 ? 'non-empty ' : ''}list of ${items.replace(/^an? /, '')}`;
    }
    case 'object':
      return node.properties
        ? `a mapping with keys ${Object.keys(node.properties as Node).join(', ')}`
        : 'a mapping of names to settings';
    default:
      return 'a valid value';
  }
}

function describeInteger(node: Node): string {
  const { minimum, maximum } = node as { minimum?: number; maximum?: number };
  if (minimum !== undefined && maximum !== undefined) return `an integer ${minimum}-${maximum}`;
  if (minimum === 1) return 'a positive integer';
  if (minimum !== undefined) return `an integer of at least ${minimum}`;
  return 'an integer';
}

/** A value for an error line: secrets hidden, URL passwords masked, long text cut. */
export function show(value: unknown, path: readonly (string | number)[]): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (isSecretPath(path)) return '<redacted>';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const safe = redactUrl(value);
    return JSON.stringify(safe.length > 80 ? `${safe.slice(0, 77)}...` : safe);
  }
  return String(value);
}

/** The closest of `candidates` to `word` when it is likely a typo (edit distance at most 2). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}
