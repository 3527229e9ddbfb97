import type { Logger } from 'pino';
import type { BackendConfig } from '../src/config/types.js';
import type { Backend } from '../src/ports/backend.js';

/**
 * Builds the backend for one config entry. Each adapter is loaded only when a backend of its type is
 * configured, so a gateway that uses Redis alone never loads kafkajs or amqplib.
 */
export async function createBackend(config: BackendConfig, logger: Logger): Promise<Backend> {
  const log = logger.child({ backend: config.name, type: config.type });
  switch (config.type) {
    case 'kafka':
      return new (await import('./kafka/index.js')).KafkaBackend(config, log);
    case 'rabbitmq':
      return new (await import('./rabbitmq/index.js')).RabbitmqBackend(config, log);
    case 'redis':
      return new (await import('./redis/index.js')).RedisBackend(config, log);
    case 'bullmq':
      return new (await import('./bullmq/index.js')).BullmqBackend(config, log);
  }
}
