import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../../../src/envelope.js';
import { eventually, type GatewayProcess, startGatewayProcess } from '../../helpers/gateway-process.js';
import { stackEnv } from '../../helpers/stack-env.js';
import { type DrainReader, kafkaDrain, rabbitmqDrain, redisDrain } from './drain-readers.js';

export const PARTITIONS = 3;

/**
 * One chaos scenario's world: a gateway child process whose `chaos-*` route fails over kafka -> rabbit ->
 * redis (the single-node stack's brokers), with the default failover settings unless overridden.
 */
export class ChaosWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'mqgate-chaos-'));
  readonly exchange = `chaos-${randomUUID()}`;
  readonly topic = `chaos-${randomUUID()}`;
  gateway: GatewayProcess | undefined;

  constructor(private readonly overrides: Record<string, unknown> = {}) {}

  config(): Record<string, unknown> {
    const env = stackEnv();
    return {
      outbox: { driver: 'sqlite', path: './outbox.db', maxBytes: '256mb', retention: '1h' },
      backends: {
        kafka: { type: 'kafka', brokers: env.kafkaBrokers, partitions: PARTITIONS },
        rabbit: {
          type: 'rabbitmq',
          urls: [env.rabbitmqUrl],
          partitions: PARTITIONS,
          exchange: this.exchange,
        },
        redis: { type: 'redis', url: env.redisUrl, partitions: PARTITIONS },
      },
      routes: [{ match: 'chaos-*', backends: ['kafka', 'rabbit', 'redis'], mode: 'failover' }],
      log: { level: 'warn' },
      ...this.overrides,
    };
  }

  async startGateway(): Promise<GatewayProcess> {
    this.gateway = await startGatewayProcess(this.dir, this.config());
    return this.gateway;
  }

  url(): string {
    if (this.gateway === undefined) throw new Error('no gateway');
    return this.gateway.url;
  }

  async json<T>(path: string): Promise<T> {
    return (await (await fetch(`${this.url()}${path}`)).json()) as T;
  }

  async waitDrained(timeoutMs = 120_000): Promise<void> {
    await eventually(
      async () => (await this.json<{ depth: number }>('/v1/outbox')).depth === 0,
      timeoutMs,
      'outbox drain',
    );
  }

  /** Every copy of the topic's messages on each backend. */
  async readAll(): Promise<Record<string, Envelope[]>> {
    const env = stackEnv();
    const readers: Record<string, DrainReader> = {
      kafka: kafkaDrain(env.kafkaBrokers),
      rabbit: rabbitmqDrain(env.rabbitmqUrl, this.exchange, PARTITIONS),
      redis: redisDrain(env.redisUrl, PARTITIONS),
    };
    const out: Record<string, Envelope[]> = {};
    for (const [name, read] of Object.entries(readers)) out[name] = await read(this.topic);
    return out;
  }

  async close(): Promise<void> {
    await this.gateway?.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
