import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig, packageRoot, redactConfig } from './config/index.js';
import { Gateway } from './gateway.js';

/** Exit code of a config that does not validate (also `mqgate config validate`). */
export const EXIT_CONFIG = 2;

/**
 * Loads and validates the config, starts the gateway, and stops it gracefully on SIGTERM/SIGINT (exit 0, or
 * 1 if the shutdown failed). A config problem prints one line per problem (naming the key) and exits 2 before
 * anything starts. Used by `npm start` (src/main.ts) and `mqgate serve`.
 */
export async function serve(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`mqgate: config: ${problem}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const version = (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const logger = pino({
    level: config.log.level,
    name: 'mqgate',
    // Belt and braces: nothing should log a credential, but if a request's headers ever reach a log line,
    // these never do.
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', '*.password', '*.secret'],
  });
  logger.info({ config: redactConfig(config), version }, 'starting');
  const gateway = await Gateway.create(config, { logger, version });
  const address = await gateway.start();
  const where = config.outbox.driver === 'sqlite' ? config.outbox.path : 'postgres';
  logger.info({ address, outbox: where }, `mqgate listening on ${address}; outbox at ${where}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway
      .close({ timeoutMs: 10_000 })
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
