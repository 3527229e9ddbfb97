import { parse as parseYaml } from 'yaml';
import { type ConfigPath, formatPath } from './paths.js';
import { ConfigFileSchema } from './schema.js';

/**
 * Environment overrides, applied to the raw file before defaults and validation, so an override with a bad
 * value is reported like any other problem (with the variable's name). Empty variables count as unset.
 *
 * - Generic: `MQGATE__SECTION__KEY[__KEY...]=value`, path segments matched case-insensitively to existing or
 *   schema keys (`MQGATE__FAILOVER__OPEN_FOR` and `MQGATE__FAILOVER__OPENFOR` both reach `failover.openFor`),
 *   numeric segments index arrays. Values are YAML scalars; lists are comma-separated (or a YAML `[a, b]`).
 * - Friendly: see `FRIENDLY` and the broker variables below. Friendly ones apply first, generic ones last.
 */

type Node = Record<string, unknown>;
type Mapping = Record<string, unknown>;
export type Env = Readonly<Record<string, string | undefined>>;

/** Friendly variables that set one key. */
const FRIENDLY: Readonly<Record<string, ConfigPath>> = {
  MQGATE_HOST: ['server', 'host'],
  MQGATE_PORT: ['server', 'port'],
  MQGATE_OUTBOX_PATH: ['outbox', 'path'],
  MQGATE_LOG_LEVEL: ['log', 'level'],
};

/** Every variable name this module reads (besides the `MQGATE__` prefix). */
export const ENV_VARS = [
  'MQGATE_CONFIG',
  ...Object.keys(FRIENDLY),
  'MQGATE_OUTBOX_URL',
  'MQGATE_KAFKA_BROKERS',
  'MQGATE_RABBITMQ_URL',
  'MQGATE_REDIS_URL',
  'MQGATE_REDIS_SENTINELS',
  'MQGATE_REDIS_NAME',
  'MQGATE_API_KEYS',
  'MQGATE_JWT_SECRET',
] as const;

export interface EnvResult {
  /** The raw config with overrides applied (a copy). */
  readonly data: unknown;
  /** Which variable set which path (`formatPath` form), to name it in problems. */
  readonly sources: ReadonlyMap<string, string>;
  /** Overrides that could not be applied at all, as finished lines. */
  readonly problems: readonly string[];
}

const isMapping = (value: unknown): value is Mapping =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const squash = (key: string): string => key.toLowerCase().replace(/_/g, '');

/** A YAML scalar, or the raw text when it is not one (or when the key wants a string). */
function scalar(raw: string, node: Node | undefined): unknown {
  if (node?.type === 'string') return raw;
  try {
    const value: unknown = parseYaml(raw);
    return value === null || typeof value === 'object' ? raw : value;
  } catch {
    return raw;
  }
}

function list(raw: string, node: Node | undefined): unknown {
  if (raw.trim().startsWith('[')) {
    try {
      return parseYaml(raw) as unknown;
    } catch {
      return raw;
    }
  }
  const items = raw.split(',').map((item) => item.trim());
  return items.filter((item) => item !== '').map((item) => scalar(item, node?.items as Node | undefined));
}

/** The schema of `key` inside `node` (for the value `container`), if the schema knows it. */
function childSchema(node: Node | undefined, container: unknown, key: string | number): Node | undefined {
  if (!node) return undefined;
  if (node.type === 'array') return node.items as Node;
  if (node.oneOf) {
    const tag = (node.discriminator as { propertyName: string }).propertyName;
    const branches = node.oneOf as Node[];
    const tagValue = isMapping(container) ? container[tag] : undefined;
    const branch = branches.find((b) => ((b.properties as Node)[tag] as Node).const === tagValue);
    const candidates = branch ? [branch] : branches;
    return candidates.map((b) => (b.properties as Record<string, Node>)[key]).find((s) => s !== undefined);
  }
  const properties = node.properties as Record<string, Node> | undefined;
  return (
    properties?.[key as string] ??
    (isMapping(node.additionalProperties) ? node.additionalProperties : undefined)
  );
}

function knownKeys(node: Node | undefined): string[] {
  if (!node) return [];
  if (node.oneOf) return (node.oneOf as Node[]).flatMap((b) => Object.keys(b.properties as Node));
  return Object.keys((node.properties as Node | undefined) ?? {});
}

class Overrides {
  readonly sources = new Map<string, string>();
  readonly problems: string[] = [];
  constructor(readonly data: Mapping) {}

  /** Sets `segments` (env spelling) to `raw`, creating mappings on the way. */
  setGeneric(name: string, segments: string[], raw: string): void {
    let container: unknown = this.data;
    let node: Node | undefined = ConfigFileSchema as unknown as Node;
    const path: (string | number)[] = [];
    for (const [i, segment] of segments.entries()) {
      let key: string | number;
      if (Array.isArray(container) && /^\d+$/.test(segment)) key = Number(segment);
      else if (isMapping(container)) {
        const known = [...Object.keys(container), ...knownKeys(node)];
        key = known.find((k) => squash(k) === squash(segment)) ?? segment.toLowerCase();
      } else {
        const at = path.length === 0 ? 'the root' : path.join('.');
        this.problems.push(`${name}: cannot set a key inside ${at}, which is not a mapping`);
        return;
      }
      const child = childSchema(node, container, key);
      path.push(key);
      const slots = container as Record<string | number, unknown>;
      if (i === segments.length - 1) {
        const wantsList = child?.type === 'array' || Array.isArray(slots[key]);
        slots[key] = wantsList ? list(raw, child) : scalar(raw, child);
        this.record(path, name);
        return;
      }
      if (slots[key] === undefined) slots[key] = {};
      container = slots[key];
      node = child;
    }
  }

  /** Sets `path` of the data, creating mappings on the way (stops at a non-mapping: validation reports it). */
  set(name: string, path: ConfigPath, value: unknown): void {
    let container: Mapping = this.data;
    for (const key of path.slice(0, -1)) {
      if (container[key] === undefined) container[key] = {};
      const next = container[key];
      if (!isMapping(next)) return;
      container = next;
    }
    container[path[path.length - 1]!] = value;
    this.record(path, name);
  }

  /** Backends (name, settings) of the given types. */
  backendsOf(...types: string[]): [string, Mapping][] {
    const backends = isMapping(this.data.backends) ? this.data.backends : {};
    return Object.entries(backends).filter(
      (entry): entry is [string, Mapping] => isMapping(entry[1]) && types.includes(String(entry[1].type)),
    );
  }

  record(path: ConfigPath, name: string): void {
    this.sources.set(formatPath(path), name);
  }
}

function applyBrokerVars(o: Overrides, env: Env): void {
  const kafka = env.MQGATE_KAFKA_BROKERS;
  if (kafka)
    for (const [name] of o.backendsOf('kafka'))
      o.set('MQGATE_KAFKA_BROKERS', ['backends', name, 'brokers'], list(kafka, undefined));
  const rabbit = env.MQGATE_RABBITMQ_URL;
  if (rabbit)
    for (const [name] of o.backendsOf('rabbitmq'))
      o.set('MQGATE_RABBITMQ_URL', ['backends', name, 'urls'], list(rabbit, undefined));
  const { MQGATE_REDIS_URL: url, MQGATE_REDIS_SENTINELS: sentinels, MQGATE_REDIS_NAME: master } = env;
  if (url && sentinels) {
    o.problems.push('MQGATE_REDIS_URL, MQGATE_REDIS_SENTINELS: set only one of them');
    return;
  }
  for (const [name, backend] of o.backendsOf('redis', 'bullmq')) {
    if (url) {
      for (const key of ['sentinels', 'name', 'password']) delete backend[key];
      o.set('MQGATE_REDIS_URL', ['backends', name, 'url'], url);
    }
    if (sentinels) {
      delete backend.url;
      o.set('MQGATE_REDIS_SENTINELS', ['backends', name, 'sentinels'], list(sentinels, undefined));
    }
    if (master) o.set('MQGATE_REDIS_NAME', ['backends', name, 'name'], master);
  }
}

/**
 * Secrets of `auth` from the environment: `MQGATE_API_KEYS` (`name:sha256hex,...`, replacing `auth.keys`)
 * and `MQGATE_JWT_SECRET` (`auth.secret`). Either one also sets the mode when the file left it `none`.
 */
function applyAuthVars(o: Overrides, env: Env): void {
  const { MQGATE_API_KEYS: keys, MQGATE_JWT_SECRET: secret } = env;
  const auth = isMapping(o.data.auth) ? o.data.auth : undefined;
  if (keys) {
    if (auth?.mode === undefined || auth.mode === 'none')
      o.set('MQGATE_API_KEYS', ['auth', 'mode'], 'apiKey');
    const parsed = keys.split(',').map((item) => {
      const at = item.lastIndexOf(':');
      return {
        name: item.slice(0, at).trim(),
        sha256: item
          .slice(at + 1)
          .trim()
          .toLowerCase(),
      };
    });
    o.set('MQGATE_API_KEYS', ['auth', 'keys'], parsed);
  }
  if (secret) {
    if (auth?.mode === undefined || auth.mode === 'none') o.set('MQGATE_JWT_SECRET', ['auth', 'mode'], 'jwt');
    o.set('MQGATE_JWT_SECRET', ['auth', 'secret'], secret);
  }
}

/**
 * Applies the overrides in `env` to a copy of `raw` (the parsed file). A `raw` that is not a mapping is
 * returned as it is, for validation to report.
 */
export function applyEnv(raw: unknown, env: Env): EnvResult {
  if (!isMapping(raw)) return { data: raw, sources: new Map(), problems: [] };
  const o = new Overrides(structuredClone(raw));
  for (const [name, path] of Object.entries(FRIENDLY)) {
    const value = env[name];
    if (value)
      o.set(
        name,
        path,
        scalar(value, path[1] === 'host' || path[1] === 'path' ? { type: 'string' } : undefined),
      );
  }
  const outboxUrl = env.MQGATE_OUTBOX_URL;
  if (outboxUrl) {
    o.set('MQGATE_OUTBOX_URL', ['outbox', 'driver'], 'postgres');
    const outbox = o.data.outbox;
    if (isMapping(outbox)) delete outbox.path;
    o.set('MQGATE_OUTBOX_URL', ['outbox', 'url'], outboxUrl);
  }
  applyBrokerVars(o, env);
  applyAuthVars(o, env);
  const generic = Object.keys(env)
    .filter((name) => name.startsWith('MQGATE__') && env[name])
    .sort();
  for (const name of generic) {
    const segments = name.slice('MQGATE__'.length).split('__');
    if (segments.some((s) => s === ''))
      o.problems.push(`${name}: empty path segment (use MQGATE__SECTION__KEY)`);
    else o.setGeneric(name, segments, env[name]!);
  }
  return { data: o.data, sources: o.sources, problems: o.problems };
}
