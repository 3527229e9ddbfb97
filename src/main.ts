#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig, packageRoot, redactConfig } from './config/index.js';
import { Gateway } from './gateway.js';

/**
 * `npm start`: load and validate the config, start the gateway, stop gracefully on SIGTERM/SIGINT.
 * A config problem prints one line per problem (naming the key) and exits 1 before anything starts.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`mqgate: config: ${problem}\n`);
      process.exit(1);
    }
    throw err;
  }
  const version = (
    JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const logger = pino({ level: config.log.level, name: 'mqgate' });
  logger.info({ config: redactConfig(config), version }, 'starting');
  const gateway = await Gateway.create(config, { logger, version });
  const address = await gateway.start();
  logger.info(
    { address, outbox: config.outbox.driver === 'sqlite' ? config.outbox.path : 'postgres' },
    `mqgate listening on ${address}; outbox at ${config.outbox.driver === 'sqlite' ? config.outbox.path : 'postgres'}`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway
      .close({ timeoutMs: 10_000 })
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`mqgate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
