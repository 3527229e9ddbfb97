import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { crossCheck } from './checks.js';
import { ConfigError } from './config-error.js';
import { applyDefaults } from './defaults.js';
import { applyEnv, type Env } from './env.js';
import { deepFreeze, normalize } from './normalize.js';
import { formatPath, type Problem } from './paths.js';
import { defaultConfigPath } from './root.js';
import type { ConfigFile } from './schema.js';
import type { Config } from './types.js';
import { validateSchema } from './validate.js';

export interface ParseConfigOptions {
  /** Environment overrides to apply; none by default (`loadConfig` passes `process.env`). */
  env?: Env;
  /** Directory that relative paths (outbox.path) are resolved against; default `process.cwd()`. */
  cwd?: string;
  /** Where the data came from, for messages and `Config.source`. */
  source?: string;
}

export interface LoadConfigOptions {
  /** Config file; default `env.MQGATE_CONFIG`, else config/default.yaml of the mqgate package. */
  file?: string;
  /** Environment to read `MQGATE_CONFIG` and overrides from; default `process.env`. */
  env?: Env;
  /** Directory that relative paths (the file, outbox.path) are resolved against; default `process.cwd()`. */
  cwd?: string;
}

function line(problem: Problem, sources: ReadonlyMap<string, string>): string {
  const key = formatPath(problem.path);
  // The variable that set this key or one of its parents, longest match first.
  let from: string | undefined;
  let longest = -1;
  for (const [path, name] of sources) {
    const under = key === path || key.startsWith(`${path}.`) || key.startsWith(`${path}[`);
    if (under && path.length > longest) [from, longest] = [name, path.length];
  }
  return `${key}${from ? ` (from ${from})` : ''}: ${problem.message}`;
}

/**
 * Validates a config given as data (the file's shape, as parsed from YAML) and returns the normalized,
 * deep-frozen config. Applies `options.env` overrides and defaults first, then checks everything against the
 * schema and across keys. Throws a ConfigError listing every problem at once.
 */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const { data, sources, problems: envProblems } = applyEnv(raw ?? {}, options.env ?? {});
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      ['(root): must be a mapping with keys server, outbox, backends, routes, ...'],
      options.source,
    );
  }
  const filled = applyDefaults(data);
  const problems = [...validateSchema(filled), ...crossCheck(filled)];
  const lines = [...envProblems, ...problems.map((p) => line(p, sources))];
  if (lines.length > 0) throw new ConfigError(lines, options.source);
  return deepFreeze(normalize(filled as ConfigFile, cwd, options.source));
}

/**
 * Reads the config file (`options.file`, else `MQGATE_CONFIG`, else the package's config/default.yaml),
 * applies environment overrides, validates it once and returns it normalized and deep-frozen.
 * Throws a ConfigError (code MQGATE_ERR_CONFIG) whose `problems` lists every problem, one line each.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const named = options.file ?? env.MQGATE_CONFIG;
  const file = named ? resolve(cwd, named) : defaultConfigPath();
  const shown = relative(cwd, file).startsWith('..') ? file : relative(cwd, file) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const origin = options.file === undefined && env.MQGATE_CONFIG ? 'MQGATE_CONFIG: ' : '';
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([`${origin}cannot read config file ${shown} (${code})`], undefined, { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = syntax.linePos?.[0];
    const where = at ? `${shown}:${at.line}:${at.col}` : shown;
    const what = syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError([`${where}: YAML syntax error: ${what}`], undefined, { cause: syntax });
  }
  return parseConfig(doc.toJS(), { env, cwd, source: file });
}
