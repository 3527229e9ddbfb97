import { Ajv, type ErrorObject } from 'ajv';
import { closest, describe, show, tagValues } from './describe.js';
import { type Problem, pointerToPath, valueAt } from './paths.js';
import { redactUrl } from './redact.js';
import { ConfigFileSchema } from './schema.js';
import { parseDuration, parseSize } from './units.js';

type Node = Record<string, unknown>;

function isUrl(text: string, protocols: readonly string[]): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return protocols.includes(url.protocol) && url.hostname !== '';
}

const HOST_PORT_RE = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;
const GLOB_RE = /^[A-Za-z0-9_*-][A-Za-z0-9._*-]{0,248}$/;

const FORMAT_CHECKS: Readonly<Record<string, (text: string) => boolean>> = {
  'host-port': (text) => {
    const port = HOST_PORT_RE.exec(text)?.[1];
    return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
  },
  'amqp-url': (text) => isUrl(text, ['amqp:', 'amqps:']),
  'redis-url': (text) => isUrl(text, ['redis:', 'rediss:']),
  'postgres-url': (text) => isUrl(text, ['postgres:', 'postgresql:']),
  'route-glob': (text) => GLOB_RE.test(text) && !text.includes('**'),
};

const FORMAT_NOUNS: Readonly<Record<string, string>> = {
  'host-port': 'host:port',
  'amqp-url': 'amqp URL',
  'redis-url': 'redis URL',
  'postgres-url': 'postgres URL',
  'route-glob': 'topic glob',
};

const TAG_NOUNS: Readonly<Record<string, string>> = {
  type: 'backend type',
  driver: 'outbox driver',
  mode: 'auth mode',
};

const ajv = new Ajv({
  allErrors: true,
  discriminator: true,
  allowUnionTypes: true,
  verbose: true,
  strict: true,
});
for (const [name, check] of Object.entries(FORMAT_CHECKS)) ajv.addFormat(name, check);
ajv.addKeyword({
  keyword: 'x-unit',
  schemaType: 'string',
  // Valid when it parses and is more than zero: no timeout, budget or limit of mqgate means anything at 0.
  validate: (unit: string, data: unknown) =>
    ((unit === 'size' ? parseSize(data) : parseDuration(data)) ?? 0) > 0,
});

// An annotation for messages (describe.ts): the expectation in words where a pattern says it badly.
ajv.addKeyword({ keyword: 'x-expect', schemaType: 'string' });

const validateFile = ajv.compile(ConfigFileSchema);

/** Lower is more telling: when several errors hit one path, the line shows the most telling one. */
const RANK: Readonly<Record<string, number>> = { discriminator: 0, type: 1, 'x-unit': 2 };

/**
 * Checks `data` (the file's shape with defaults filled in) against the schema and returns every problem,
 * one per path, in document order of ajv's report. An empty list means valid.
 */
export function validateSchema(data: unknown): Problem[] {
  if (validateFile(data)) return [];
  const best = new Map<string, { error: ErrorObject; problem: Problem }>();
  for (const error of validateFile.errors ?? []) {
    const problem = toProblem(error, data);
    const key = problem.path.join('\u0000');
    const seen = best.get(key);
    if (!seen || (RANK[error.keyword] ?? 9) < (RANK[seen.error.keyword] ?? 9))
      best.set(key, { error, problem });
  }
  return [...best.values()].map((entry) => entry.problem);
}

function toProblem(error: ErrorObject, data: unknown): Problem {
  const path = pointerToPath(error.instancePath, data);
  const node = (error.parentSchema ?? {}) as Node;
  const value = valueAt(data, path);
  const got = `, got ${show(value, path)}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'discriminator': {
      const tag = String(params.tag);
      const expected = tagValues(node).join(', ');
      const tagValue = params.tagValue;
      if (params.error === 'tag' && tagValue === undefined) {
        return { path: [...path, tag], message: `missing (expected ${expected})` };
      }
      const noun = TAG_NOUNS[tag] ?? tag;
      return {
        path: [...path, tag],
        message: `unknown ${noun} ${show(tagValue, [])} (expected ${expected})`,
      };
    }
    case 'required': {
      const key = String(params.missingProperty);
      const expected = describe((node.properties as Record<string, Node>)[key]);
      return { path: [...path, key], message: `missing; expected ${expected}` };
    }
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys((node.properties as Node) ?? {});
      const hint = closest(key, allowed);
      const suggestion = hint ? `did you mean "${hint}"? ` : '';
      return { path: [...path, key], message: `unknown key (${suggestion}expected ${allowed.join(', ')})` };
    }
    case 'x-unit': {
      const unit = String(error.schema);
      const parsed = unit === 'size' ? parseSize(value) : parseDuration(value);
      const message =
        parsed === undefined ? `invalid ${unit} ${show(value, path)}` : `must be more than 0${got}`;
      return { path, message };
    }
    case 'format': {
      const shown = show(typeof value === 'string' ? redactUrl(value) : value, path);
      return {
        path,
        message: `invalid ${FORMAT_NOUNS[String(params.format)]} ${shown} (expected ${describe(node)})`,
      };
    }
    case 'minItems':
      return {
        path,
        message: `must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      };
    case 'minProperties':
      return { path, message: 'must name at least one backend' };
    case 'uniqueItems':
      return { path, message: `lists ${show(valueAt(value, [Number(params.j)]), path)} twice` };
    default:
      return { path, message: `must be ${describe(node)}${got}` };
  }
}
