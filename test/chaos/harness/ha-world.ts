import { haEnv } from '../../../scripts/stack/index.js';
import type { Envelope } from '../../../src/envelope.js';
import { type DrainReader, kafkaDrain, rabbitmqDrain, redisDrain } from './drain-readers.js';
import { redisMasterAddress } from './ha-brokers.js';
import { ChaosWorld, PARTITIONS } from './scenario.js';

/** Where the `--ha` stack's clusters answer, parsed from the stack's own settings (scripts/stack/env.ts). */
export interface HaEnv {
  kafkaBrokers: string[];
  rabbitmqUrls: string[];
  redisSentinels: string[];
  redisName: string;
}

export function haStackEnv(): HaEnv {
  const env = haEnv();
  const list = (name: string) => (env[name] ?? '').split(',').filter(Boolean);
  return {
    kafkaBrokers: list('MQGATE_HA_KAFKA_BROKERS'),
    rabbitmqUrls: list('MQGATE_HA_RABBITMQ_URLS'),
    redisSentinels: list('MQGATE_HA_REDIS_SENTINELS'),
    redisName: env.MQGATE_HA_REDIS_NAME ?? 'mqgate',
  };
}

export type HaBackend = 'kafka' | 'rabbit' | 'redis';

/**
 * A chaos world on the HA stack. With one backend, the gateway's `chaos-*` route has only that cluster, so a
 * node's death must be absorbed inside it (client reconnects, leader election, Sentinel) rather than by a
 * failover to another broker. With several, the route fails over between the clusters in that order.
 */
export class HaWorld extends ChaosWorld {
  readonly backends: readonly HaBackend[];

  constructor(backends: HaBackend | readonly HaBackend[]) {
    super();
    this.backends = typeof backends === 'string' ? [backends] : backends;
  }

  override config(): Record<string, unknown> {
    const env = haStackEnv();
    const backends: Record<HaBackend, Record<string, unknown>> = {
      kafka: { type: 'kafka', brokers: env.kafkaBrokers, partitions: PARTITIONS, replicationFactor: 3 },
      rabbit: { type: 'rabbitmq', urls: env.rabbitmqUrls, partitions: PARTITIONS, exchange: this.exchange },
      redis: {
        type: 'redis',
        sentinels: env.redisSentinels,
        name: env.redisName,
        partitions: PARTITIONS,
        waitReplicas: 1,
      },
    };
    return {
      outbox: { driver: 'sqlite', path: './outbox.db', maxBytes: '256mb', retention: '1h' },
      backends: Object.fromEntries(this.backends.map((b) => [b, backends[b]])),
      routes: [{ match: 'chaos-*', backends: this.backends, mode: 'failover' }],
      log: { level: 'warn' },
    };
  }

  /** Every copy of the topic's messages on each of the scenario's clusters, read from wherever it now leads. */
  override async readAll(): Promise<Record<string, Envelope[]>> {
    const out: Record<string, Envelope[]> = {};
    for (const b of this.backends) out[b] = await (await this.#reader(b))(this.topic);
    return out;
  }

  async #reader(backend: HaBackend): Promise<DrainReader> {
    const env = haStackEnv();
    if (backend === 'kafka') return kafkaDrain(env.kafkaBrokers);
    // Any node of the cluster serves every queue; the last URL is not the one the scenarios kill.
    if (backend === 'rabbit') return rabbitmqDrain(env.rabbitmqUrls.at(-1)!, this.exchange, PARTITIONS);
    return redisDrain(`redis://${await redisMasterAddress(env.redisSentinels, env.redisName)}`, PARTITIONS);
  }
}
