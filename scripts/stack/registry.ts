import { StackError } from './errors.js';
import { haKafka, singleKafka } from './kafka.js';
import { singlePostgres } from './postgres.js';
import { epmdService, haRabbit, singleRabbit } from './rabbitmq.js';
import { haRedis, singleRedis } from './redis.js';
import type { Mode, ServiceDef } from './service.js';

let all: ServiceDef[] | undefined;

/** Every service the stack knows, single and HA, plus the shared epmd. Built once. */
export function allServices(): ServiceDef[] {
  all ??= [
    epmdService(),
    ...singleKafka(),
    ...singleRabbit(),
    ...singleRedis(),
    ...singlePostgres(),
    ...haKafka(),
    ...haRabbit(),
    ...haRedis(),
  ];
  return all;
}

export function servicesOf(mode: Mode): ServiceDef[] {
  return allServices().filter((s) => s.mode === mode);
}

export function serviceNamed(name: string): ServiceDef {
  const def = allServices().find((s) => s.name === name);
  if (!def) {
    const names = allServices()
      .map((s) => s.name)
      .join(', ');
    throw new StackError(`unknown service "${name}"; known: ${names}`);
  }
  return def;
}
