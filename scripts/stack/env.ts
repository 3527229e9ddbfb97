import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { envFile, stackDir } from './paths.js';
import { HA, HOST, SINGLE } from './ports.js';
import { postgresUrl } from './postgres.js';
import { amqpUrl } from './rabbitmq.js';

/** Connection settings of the single-node stack, as the tests and the gateway read them. */
export function singleEnv(): Record<string, string> {
  return {
    MQGATE_KAFKA_BROKERS: `${HOST}:${SINGLE.kafka.broker}`,
    MQGATE_RABBITMQ_URL: amqpUrl(SINGLE.rabbitmq.amqp),
    MQGATE_REDIS_URL: `redis://${HOST}:${SINGLE.redis}`,
    MQGATE_POSTGRES_URL: postgresUrl,
  };
}

/** Connection settings of the HA stack. */
export function haEnv(): Record<string, string> {
  return {
    MQGATE_HA_KAFKA_BROKERS: HA.kafka.map((k) => `${HOST}:${k.broker}`).join(','),
    MQGATE_HA_RABBITMQ_URLS: HA.rabbitmq.map((r) => amqpUrl(r.amqp)).join(','),
    MQGATE_HA_REDIS_SENTINELS: HA.sentinels.map((p) => `${HOST}:${p}`).join(','),
    MQGATE_HA_REDIS_NAME: HA.sentinelMasterName,
  };
}

/** Writes .stack/env (dotenv) for the modes that run; removes it when none does. */
export function writeEnvFile(modes: { single: boolean; ha: boolean }): Record<string, string> {
  const env = { ...(modes.single ? singleEnv() : {}), ...(modes.ha ? haEnv() : {}) };
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (lines.length === 0) {
    rmSync(envFile, { force: true });
  } else {
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(envFile, `# Written by \`npm run stack -- up\`.\n${lines.join('\n')}\n`);
  }
  return env;
}
