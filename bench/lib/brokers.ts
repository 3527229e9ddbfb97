/**
 * The stack's brokers as benchmark backends: their config entries, adapters built from them (the same code
 * the relay publishes with), and envelopes to publish directly.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createBackend } from '../../adapters/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { Envelope } from '../../src/envelope.js';
import type { Backend } from '../../src/ports/backend.js';

/** The stack's settings, as `stackUp()` returns them. */
export type StackEnv = Record<string, string>;

export const BACKENDS = ['kafka', 'rabbitmq', 'redis'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const PARTITIONS = 6;

/** The config-file entry of one stack broker; `exchange` keeps RabbitMQ runs apart. */
export function backendEntry(
  name: BackendName,
  env: StackEnv,
  exchange = 'mqgate-bench',
): Record<string, unknown> {
  switch (name) {
    case 'kafka':
      return { type: 'kafka', brokers: env.MQGATE_KAFKA_BROKERS!.split(','), partitions: PARTITIONS };
    case 'rabbitmq':
      return { type: 'rabbitmq', urls: [env.MQGATE_RABBITMQ_URL], partitions: PARTITIONS, exchange };
    case 'redis':
      return { type: 'redis', url: env.MQGATE_REDIS_URL, partitions: PARTITIONS };
  }
}

/** A full, validated config with one backend and a `*` route: what the SDK and the adapters take. */
export function configFor(name: BackendName, env: StackEnv, dir: string, exchange?: string): Config {
  return parseConfig({
    outbox: { driver: 'sqlite', path: `${dir}/unused.db` },
    backends: { [name]: backendEntry(name, env, exchange) },
    routes: [{ match: '*', backends: [name], mode: 'failover' }],
  });
}

/** The adapter of `name`, connected (the gateway's relay publishes through the same class). */
export async function connectedAdapter(config: Config, name: BackendName): Promise<Backend> {
  const backend = await createBackend(config.backends[name]!, pino({ level: 'warn' }));
  await backend.connect();
  return backend;
}

/** The JSON body every scenario publishes: small, like an order event. */
export function payload(i: number): { order: number; items: string[] } {
  return { order: i, items: ['a', 'b'] };
}

/** `n` envelopes as the outbox would hand them to the relay (key per 64 messages, seq per key). */
export function envelopes(topic: string, n: number, from = 0): Envelope[] {
  const time = new Date().toISOString();
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return {
      id: randomUUID(),
      topic,
      key: `k-${i % 64}`,
      seq: Math.floor(i / 64) + 1,
      type: 'mqgate.message',
      source: 'mqgate',
      time,
      datacontenttype: 'application/json',
      headers: {},
      data: Buffer.from(JSON.stringify(payload(i))),
      attempt: 1,
    };
  });
}

/** A topic name of its own for one run. */
export function benchTopic(what: string): string {
  return `bench-${what}-${randomUUID().slice(0, 8)}`;
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
