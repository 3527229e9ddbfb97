import { MqgateError } from '../errors.js';

/**
 * The config could not be loaded. `problems` holds every problem found, one line each, starting with the key
 * path (and the environment variable that set it, if one did); no line shows a secret.
 */
export class ConfigError extends MqgateError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], source: string | undefined, options: { cause?: unknown } = {}) {
    const where = source === undefined ? 'invalid config' : `invalid config ${source}`;
    const message =
      problems.length === 1
        ? `${where}: ${problems[0]}`
        : `${where}: ${problems.length} problems:\n${problems.map((p) => `  ${p}`).join('\n')}`;
    super('MQGATE_ERR_CONFIG', message, {
      ...options,
      context: source === undefined ? {} : { file: source },
    });
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
