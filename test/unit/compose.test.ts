import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type BackendConfig, loadConfig, packageRoot } from '../../src/config/index.js';

/**
 * Docker does not run here, so this keeps docker-compose.yml honest by reading it: it must agree with
 * config/default.yaml (services, published ports) and be internally consistent (depends_on, healthchecks,
 * volumes, the ha profile's shape).
 */

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  ports?: string[];
  command?: string | string[];
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, unknown>;
}

const root = packageRoot();
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const config = loadConfig({ file: join(root, 'config', 'default.yaml'), env: {} });
const services = Object.entries(compose.services);
const defaults = services.filter(([, s]) => !s.profiles);
const ha = services.filter(([, s]) => s.profiles?.includes('ha'));

/** The service of the default (no profile) stack that serves a backend type. */
const SERVICE_OF: Record<BackendConfig['type'], string> = {
  kafka: 'kafka',
  rabbitmq: 'rabbitmq',
  redis: 'redis',
  bullmq: 'redis',
};

function portsOf(backend: BackendConfig): number[] {
  switch (backend.type) {
    case 'kafka':
      return backend.brokers.map((b) => Number(b.split(':').pop()));
    case 'rabbitmq':
      return backend.urls.map((u) => Number(new URL(u).port || 5672));
    default:
      return backend.connection.mode === 'url' ? [Number(new URL(backend.connection.url).port || 6379)] : [];
  }
}

/** Host ports a service publishes ("9092:9092" -> 9092). */
function published(service: Service): number[] {
  return (service.ports ?? []).map((p) => Number(String(p).split(':').at(-2)));
}

const commandText = (s: Service) => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));

describe('docker-compose.yml agrees with config/default.yaml', () => {
  it.each(Object.values(config.backends).map((b) => [b.name, b] as const))(
    'backend %s has a default service publishing its port',
    (_name, backend) => {
      const service = compose.services[SERVICE_OF[backend.type]];
      expect(service, `service ${SERVICE_OF[backend.type]}`).toBeDefined();
      expect(service?.profiles).toBeUndefined();
      for (const port of portsOf(backend)) expect(published(service!)).toContain(port);
    },
  );

  it('the gateway publishes server.port and is built from the Dockerfile', () => {
    const gateway = compose.services.gateway!;
    expect(gateway.build).toBeDefined();
    expect(published(gateway)).toContain(config.server.port);
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/CMD \["node", "dist\/src\/main.js"\]/);
  });

  it('the gateway loads config/default.yaml with broker overrides naming compose services', () => {
    const env = compose.services.gateway!.environment!;
    expect(env.MQGATE_CONFIG).toBe('/app/config/default.yaml');
    const hosts = [
      ...env.MQGATE_KAFKA_BROKERS!.split(',').map((b) => b.split(':')[0]),
      new URL(env.MQGATE_RABBITMQ_URL!).hostname,
      new URL(env.MQGATE_REDIS_URL!).hostname,
    ];
    for (const host of hosts) expect(compose.services).toHaveProperty([host!]);
    // The overrides are valid for the config module too.
    const loaded = loadConfig({ env: { ...env, MQGATE_CONFIG: join(root, 'config', 'default.yaml') } });
    expect(loaded.backends.kafka).toMatchObject({ brokers: [env.MQGATE_KAFKA_BROKERS] });
  });

  it('Redis persists every write (appendonly, appendfsync always)', () => {
    for (const [name, s] of services.filter(
      ([, s]) => s.image?.startsWith('redis') && !/sentinel/.test(commandText(s)),
    )) {
      expect(commandText(s), name).toMatch(/--appendonly yes --appendfsync always/);
    }
  });
});

describe('docker-compose.yml is consistent', () => {
  it('every depends_on target exists, has a healthcheck and is awaited healthy', () => {
    for (const [name, service] of services) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[target], `${name} -> ${target}`).toBeDefined();
        expect(compose.services[target]?.healthcheck, `${target} healthcheck`).toBeDefined();
        expect(condition).toBe('service_healthy');
      }
    }
  });

  it('the gateway waits for every default broker', () => {
    expect(Object.keys(compose.services.gateway!.depends_on ?? {}).sort()).toEqual([
      'kafka',
      'rabbitmq',
      'redis',
    ]);
  });

  it('every broker service has a healthcheck', () => {
    for (const [name, service] of services) expect(service.healthcheck, name).toBeDefined();
  });

  it('every named volume used is declared, and every declared one is used', () => {
    const used = services.flatMap(([, s]) =>
      (s.volumes ?? [])
        .map((v) => v.split(':')[0]!)
        .filter((source) => !source.startsWith('.') && !source.startsWith('/')),
    );
    for (const volume of used) expect(compose.volumes ?? {}, volume).toHaveProperty([volume]);
    expect(Object.keys(compose.volumes ?? {}).sort()).toEqual([...new Set(used)].sort());
  });

  it('no two services publish the same host port', () => {
    const ports = services.flatMap(([, s]) => published(s));
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('the default stack is gateway, kafka (apache/kafka 4.x), rabbitmq (4-management) and redis (7)', () => {
    expect(defaults.map(([name]) => name).sort()).toEqual(['gateway', 'kafka', 'rabbitmq', 'redis']);
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:4\./);
    expect(compose.services.rabbitmq?.image).toBe('rabbitmq:4-management');
    expect(compose.services.redis?.image).toMatch(/^redis:7/);
  });
});

describe('docker-compose.yml profile ha', () => {
  const kafka = ha.filter(([, s]) => s.image?.startsWith('apache/kafka'));
  const rabbit = ha.filter(([, s]) => s.image?.startsWith('rabbitmq'));
  const redis = ha.filter(([, s]) => s.image?.startsWith('redis'));
  const sentinels = redis.filter(([, s]) => /redis-sentinel/.test(commandText(s)));
  const replicas = redis.filter(([, s]) => /--replicaof/.test(commandText(s)));
  const primaries = redis.filter(([, s]) => !/--replicaof|redis-sentinel/.test(commandText(s)));

  it('has 3 Kafka brokers in one KRaft quorum with RF 3 and min ISR 2', () => {
    expect(kafka).toHaveLength(3);
    const ids = new Set(kafka.map(([, s]) => s.environment?.KAFKA_NODE_ID));
    expect(ids.size).toBe(3);
    for (const [name, s] of kafka) {
      const env = s.environment!;
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS?.split(','), name).toHaveLength(3);
      expect(env.KAFKA_DEFAULT_REPLICATION_FACTOR).toBe('3');
      expect(env.KAFKA_MIN_INSYNC_REPLICAS).toBe('2');
      expect(env.CLUSTER_ID).toBe(kafka[0]![1].environment!.CLUSTER_ID);
      expect(Buffer.from(env.CLUSTER_ID!, 'base64url')).toHaveLength(16);
    }
  });

  it('has a 3-node RabbitMQ cluster with a shared cookie and classic peer discovery', () => {
    expect(rabbit).toHaveLength(3);
    const cookies = new Set(rabbit.map(([, s]) => s.environment?.RABBITMQ_COOKIE));
    expect(cookies.size).toBe(1);
    const conf = String((compose.configs?.['rabbitmq-ha-conf'] as { content?: string } | undefined)?.content);
    expect(conf).toContain('cluster_formation.peer_discovery_backend = classic_config');
    for (const [name] of rabbit) expect(conf).toContain(`rabbit@${name}`);
  });

  it('has a Redis primary, 2 replicas of it and 3 sentinels monitoring it', () => {
    expect(primaries.map(([name]) => name)).toEqual(['redis-primary']);
    expect(replicas).toHaveLength(2);
    for (const [, s] of replicas) expect(commandText(s)).toContain('--replicaof redis-primary 6379');
    expect(sentinels).toHaveLength(3);
    for (const [, s] of sentinels)
      expect(commandText(s)).toContain('sentinel monitor mymaster redis-primary 6379 2');
  });

  it('matches config/examples/ha.yaml, which gateway-ha runs', () => {
    const haConfig = loadConfig({ file: join(root, 'config', 'examples', 'ha.yaml'), env: {} });
    expect(compose.services['gateway-ha']?.environment?.MQGATE_CONFIG).toBe('/app/config/examples/ha.yaml');
    const kafkaBackend = haConfig.backends.kafka;
    if (kafkaBackend?.type !== 'kafka') throw new Error('ha.yaml has no kafka backend');
    expect(kafkaBackend.brokers.map((b) => b.split(':')[0]).sort()).toEqual(
      kafka.map(([name]) => name).sort(),
    );
    const redisBackend = haConfig.backends.redis;
    if (redisBackend?.type !== 'redis' || redisBackend.connection.mode !== 'sentinel')
      throw new Error('no sentinel');
    expect(redisBackend.connection.sentinels.map((s) => s.host).sort()).toEqual(
      sentinels.map(([name]) => name).sort(),
    );
    expect(redisBackend.connection.masterName).toBe('mymaster');
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, dist, local state and .env out of the build context', () => {
    const lines = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'data', '.stack', '.env', '.git'])
      expect(lines).toContain(entry);
  });
});
