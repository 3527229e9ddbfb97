import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, loadConfig, packageRoot, parseConfig } from '../../src/config/index.js';

const root = packageRoot();
const minimal = {
  backends: { kafka: { type: 'kafka', brokers: ['127.0.0.1:9092'] } },
  routes: [{ match: '*', backends: ['kafka'] }],
};

function writeTemp(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-config-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig: defaults', () => {
  it('finds the package root and config/default.yaml', () => {
    expect(root).toBe(resolve(import.meta.dirname, '../..'));
    expect(defaultConfigPath()).toBe(join(root, 'config', 'default.yaml'));
  });

  it('loads config/default.yaml with the documented values, in units', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/app' });
    expect(config.source).toBe(defaultConfigPath());
    expect(config.server).toEqual({
      host: '0.0.0.0',
      port: 8080,
      bodyLimitBytes: 1024 ** 2,
      shutdownDelayMs: 0,
    });
    expect(config.outbox).toEqual({
      driver: 'sqlite',
      path: '/srv/app/data/outbox.db',
      maxBytes: 1024 ** 3,
      retentionMs: 24 * 3_600_000,
    });
    expect(Object.keys(config.backends)).toEqual(['kafka', 'rabbit', 'redis', 'jobs']);
    expect(config.backends.kafka).toEqual({
      name: 'kafka',
      type: 'kafka',
      brokers: ['127.0.0.1:9092'],
      partitions: 6,
      replicationFactor: 1,
      clientId: 'mqgate-kafka',
      ssl: false,
    });
    expect(config.backends.rabbit).toMatchObject({
      type: 'rabbitmq',
      queueType: 'quorum',
      exchange: 'mqgate',
    });
    expect(config.backends.redis).toMatchObject({
      connection: { mode: 'url', url: 'redis://127.0.0.1:6379' },
    });
    expect(config.backends.jobs).toMatchObject({ type: 'bullmq', name: 'jobs' });
    expect(config.routes).toEqual([
      { match: 'orders.*', backends: ['kafka', 'rabbit', 'redis'], mode: 'failover' },
      { match: '*', backends: ['redis', 'kafka'], mode: 'failover' },
    ]);
    expect(config.failover).toEqual({
      failureThreshold: 3,
      probeIntervalMs: 500,
      openForMs: 2000,
      failbackAfterMs: 10_000,
    });
    expect(config.auth).toEqual({ mode: 'none' });
    expect(config.limits).toEqual({
      batchMaxCount: 1000,
      batchMaxBytes: 4 * 1024 ** 2,
      idempotencyKeyMaxLength: 200,
      headerMaxCount: 64,
      headerValueMaxBytes: 4096,
    });
    expect(config.relay).toEqual({
      batchSize: 256,
      maxAttempts: 20,
      backoffInitialMs: 200,
      backoffMaxMs: 30_000,
      leaseMs: 30_000,
      publishTimeoutMs: 10_000,
      pollIntervalMs: 50,
    });
    expect(config.log).toEqual({ level: 'info' });
  });

  it('fills every omitted section from the schema defaults', () => {
    const fromFile = loadConfig({ env: {} });
    const config = parseConfig(minimal);
    expect(config.server).toEqual(fromFile.server);
    expect(config.failover).toEqual(fromFile.failover);
    expect(config.relay).toEqual(fromFile.relay);
    expect(config.limits).toEqual(fromFile.limits);
    expect(config.auth).toEqual({ mode: 'none' });
    expect(config.outbox).toMatchObject({ driver: 'sqlite', maxBytes: 1024 ** 3 });
    expect(config.backends.kafka).toMatchObject({ partitions: 6, replicationFactor: 1 });
    expect(config.routes[0]?.mode).toBe('failover');
  });

  it('reads MQGATE_CONFIG, relative to cwd', () => {
    const file = writeTemp(
      'x.yaml',
      'backends: { k: { type: kafka, brokers: [h:1] } }\nroutes: [{ match: "*", backends: [k] }]\n',
    );
    const config = loadConfig({ env: { MQGATE_CONFIG: 'x.yaml' }, cwd: join(file, '..') });
    expect(config.source).toBe(file);
    expect(Object.keys(config.backends)).toEqual(['k']);
  });
});

describe('loadConfig: examples', () => {
  const examples = readdirSync(join(root, 'config', 'examples')).filter((f) => f.endsWith('.yaml'));

  it('has the kafka-only, ha and postgres examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['kafka-only.yaml', 'ha.yaml', 'postgres.yaml']));
  });

  it.each(examples)('%s loads', (name) => {
    const config = loadConfig({ file: join(root, 'config', 'examples', name), env: {} });
    expect(config.routes.length).toBeGreaterThan(0);
  });

  it('ha.yaml has 3 Kafka brokers at RF 3, 3 RabbitMQ nodes and Redis through 3 sentinels', () => {
    const config = loadConfig({ file: join(root, 'config', 'examples', 'ha.yaml'), env: {} });
    expect(config.backends.kafka).toMatchObject({ brokers: expect.any(Array), replicationFactor: 3 });
    expect(config.backends.kafka?.type === 'kafka' && config.backends.kafka.brokers).toHaveLength(3);
    expect(config.backends.rabbit?.type === 'rabbitmq' && config.backends.rabbit.urls).toHaveLength(3);
    const redis = config.backends.redis;
    expect(redis?.type === 'redis' && redis.connection).toMatchObject({
      mode: 'sentinel',
      masterName: 'mymaster',
      sentinels: [{ host: 'sentinel-1', port: 26379 }, expect.anything(), expect.anything()],
    });
  });

  it('postgres.yaml selects the postgres outbox', () => {
    const config = loadConfig({ file: join(root, 'config', 'examples', 'postgres.yaml'), env: {} });
    expect(config.outbox).toMatchObject({
      driver: 'postgres',
      url: 'postgres://mqgate@127.0.0.1:5432/mqgate',
    });
  });
});

describe('loadConfig: the result is deep-frozen', () => {
  it('throws on mutation at any depth', () => {
    const config = loadConfig({ env: {} }) as unknown as Record<string, Record<string, unknown>>;
    expect(() => {
      config.server!.port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.backends!.kafka as { brokers: string[] }).brokers.push('x:1');
    }).toThrow(TypeError);
    expect(() => {
      (config.routes as unknown as unknown[]).pop();
    }).toThrow(TypeError);
    expect(Object.isFrozen(config)).toBe(true);
  });
});
