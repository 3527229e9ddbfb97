import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConfigError,
  defaultConfigPath,
  loadConfig,
  parseConfig,
  type RedisConnection,
} from '../../src/config/index.js';

const withSecondKafka = parse(readFileSync(defaultConfigPath(), 'utf8')) as {
  backends: Record<string, unknown>;
};
withSecondKafka.backends.k2 = { type: 'kafka', brokers: ['old:1'] };

function problemsFor(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('env overrides: generic MQGATE__SECTION__KEY', () => {
  it('sets nested keys, case-insensitively, with YAML scalar values', () => {
    const config = loadConfig({
      env: {
        MQGATE__SERVER__PORT: '9000',
        MQGATE__BACKENDS__KAFKA__PARTITIONS: '3',
        MQGATE__FAILOVER__OPEN_FOR: '5s',
        MQGATE__FAILOVER__FAILBACKAFTER: '1m',
        MQGATE__LIMITS__BATCH_MAX_BYTES: '8mb',
      },
    });
    expect(config.server.port).toBe(9000);
    expect(config.backends.kafka).toMatchObject({ partitions: 3 });
    expect(config.failover).toMatchObject({ openForMs: 5000, failbackAfterMs: 60_000 });
    expect(config.limits.batchMaxBytes).toBe(8 * 1024 ** 2);
  });

  it('splits comma lists for list keys and indexes arrays by number', () => {
    const config = loadConfig({
      env: {
        MQGATE__BACKENDS__KAFKA__BROKERS: 'k1:9092, k2:9092',
        MQGATE__ROUTES__0__BACKENDS: 'redis,kafka',
        MQGATE__ROUTES__1__MODE: 'mirror',
      },
    });
    expect(config.backends.kafka).toMatchObject({ brokers: ['k1:9092', 'k2:9092'] });
    expect(config.routes[0]?.backends).toEqual(['redis', 'kafka']);
    expect(config.routes[1]?.mode).toBe('mirror');
  });

  it('adds a backend that the file does not have', () => {
    const config = loadConfig({
      env: { MQGATE__BACKENDS__K2__TYPE: 'kafka', MQGATE__BACKENDS__K2__BROKERS: 'h:1' },
    });
    expect(config.backends.k2).toMatchObject({ name: 'k2', type: 'kafka', brokers: ['h:1'], partitions: 6 });
  });

  it('keeps string keys as strings (a numeric secret stays a string)', () => {
    const config = loadConfig({
      env: {
        MQGATE__AUTH__MODE: 'jwt',
        MQGATE__AUTH__SECRET: '12345',
        MQGATE__AUTH__ISSUER: 'i',
        MQGATE__AUTH__AUDIENCE: 'a',
      },
    });
    expect(config.auth).toMatchObject({ mode: 'jwt', secret: '12345', principalClaim: 'sub', acl: [] });
  });

  it('MQGATE_API_KEYS and MQGATE_JWT_SECRET set the auth secrets (and the mode)', () => {
    const hash = 'a'.repeat(64);
    expect(loadConfig({ env: { MQGATE_API_KEYS: `svc-a:${hash}, svc-b:${'B'.repeat(64)}` } }).auth).toEqual({
      mode: 'apiKey',
      keys: [
        { name: 'svc-a', sha256: hash },
        { name: 'svc-b', sha256: 'b'.repeat(64) },
      ],
      acl: [],
    });
    const jwt = loadConfig({
      env: { MQGATE_JWT_SECRET: 's3cret', MQGATE__AUTH__ISSUER: 'i', MQGATE__AUTH__AUDIENCE: 'a' },
    });
    expect(jwt.auth).toMatchObject({ mode: 'jwt', secret: 's3cret', issuer: 'i', audience: 'a' });
  });

  it('reports a bad value naming the variable and the key', () => {
    expect(problemsFor({ MQGATE__BACKENDS__KAFKA__PARTITIONS: 'x' })).toEqual([
      'backends.kafka.partitions (from MQGATE__BACKENDS__KAFKA__PARTITIONS): must be a positive integer, got "x"',
    ]);
    expect(problemsFor({ MQGATE__SERVER__PROT: '1' })).toEqual([
      'server.prot (from MQGATE__SERVER__PROT): unknown key (did you mean "port"? expected host, port, bodyLimit, shutdownDelay)',
    ]);
    expect(problemsFor({ MQGATE__SERVER__PORT__X: '1' })).toEqual([
      'MQGATE__SERVER__PORT__X: cannot set a key inside server.port, which is not a mapping',
    ]);
  });

  it('ignores empty variables', () => {
    expect(loadConfig({ env: { MQGATE_PORT: '', MQGATE__SERVER__HOST: '' } }).server).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
    });
  });

  it('applies generic overrides after friendly ones', () => {
    expect(loadConfig({ env: { MQGATE_PORT: '9000', MQGATE__SERVER__PORT: '9001' } }).server.port).toBe(9001);
  });
});

describe('env overrides: friendly variables', () => {
  it('MQGATE_PORT, MQGATE_HOST, MQGATE_OUTBOX_PATH, MQGATE_LOG_LEVEL', () => {
    const config = loadConfig({
      cwd: '/srv',
      env: {
        MQGATE_PORT: '0',
        MQGATE_HOST: '127.0.0.1',
        MQGATE_OUTBOX_PATH: 'x/o.db',
        MQGATE_LOG_LEVEL: 'debug',
      },
    });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 0 });
    expect(config.outbox).toMatchObject({ driver: 'sqlite', path: '/srv/x/o.db' });
    expect(config.log.level).toBe('debug');
  });

  it('MQGATE_PORT with a bad value names the variable and the key', () => {
    expect(problemsFor({ MQGATE_PORT: '80a' })).toEqual([
      'server.port (from MQGATE_PORT): must be an integer 0-65535, got "80a"',
    ]);
  });

  it('MQGATE_OUTBOX_URL switches to the postgres outbox', () => {
    const config = loadConfig({ env: { MQGATE_OUTBOX_URL: 'postgres://u:p@db:5432/mqgate' } });
    expect(config.outbox).toMatchObject({ driver: 'postgres', url: 'postgres://u:p@db:5432/mqgate' });
  });

  it('broker URLs apply to every backend of their type', () => {
    const config = parseConfig(withSecondKafka, {
      env: {
        MQGATE_KAFKA_BROKERS: 'kafka:19092,kafka2:19092',
        MQGATE_RABBITMQ_URL: 'amqp://u:p@rabbit:5672',
        MQGATE_REDIS_URL: 'redis://cache:6380',
      },
    });
    for (const name of ['kafka', 'k2']) {
      expect(config.backends[name]).toMatchObject({ brokers: ['kafka:19092', 'kafka2:19092'] });
    }
    expect(config.backends.rabbit).toMatchObject({ urls: ['amqp://u:p@rabbit:5672'] });
    const url: RedisConnection = { mode: 'url', url: 'redis://cache:6380' };
    expect(config.backends.redis).toMatchObject({ connection: url });
    expect(config.backends.jobs).toMatchObject({ connection: url });
  });

  it('MQGATE_REDIS_SENTINELS + MQGATE_REDIS_NAME replace the URL of redis and bullmq backends', () => {
    const config = loadConfig({
      env: { MQGATE_REDIS_SENTINELS: 's1:26379,s2:26379,s3:26379', MQGATE_REDIS_NAME: 'mymaster' },
    });
    for (const name of ['redis', 'jobs']) {
      expect(config.backends[name]).toMatchObject({
        connection: {
          mode: 'sentinel',
          masterName: 'mymaster',
          sentinels: [{ host: 's1', port: 26379 }, {}, {}],
        },
      });
    }
  });

  it('MQGATE_REDIS_URL drops the sentinels of a file that uses them', () => {
    const config = loadConfig({
      env: {
        MQGATE_CONFIG: 'config/examples/ha.yaml',
        MQGATE_REDIS_URL: 'redis://127.0.0.1:6379',
        MQGATE_KAFKA_BROKERS: '127.0.0.1:9092',
      },
      cwd: new URL('../..', import.meta.url).pathname,
    });
    expect(config.backends.redis).toMatchObject({
      connection: { mode: 'url', url: 'redis://127.0.0.1:6379' },
    });
    expect(config.backends.jobs).toMatchObject({ connection: { mode: 'url' } });
  });

  it('reports bad broker values per backend, naming the variable, with passwords masked', () => {
    const lines = problemsFor({
      MQGATE_KAFKA_BROKERS: 'nohost',
      MQGATE_RABBITMQ_URL: 'amqp//guest:s3cret@h',
    });
    expect(lines).toEqual([
      'backends.kafka.brokers[0] (from MQGATE_KAFKA_BROKERS): invalid host:port "nohost" (expected host:port)',
      expect.stringMatching(/^backends\.rabbit\.urls\[0\] \(from MQGATE_RABBITMQ_URL\): invalid amqp URL/),
    ]);
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  it('refuses MQGATE_REDIS_URL together with MQGATE_REDIS_SENTINELS', () => {
    expect(problemsFor({ MQGATE_REDIS_URL: 'redis://h:1', MQGATE_REDIS_SENTINELS: 's:26379' })).toEqual([
      'MQGATE_REDIS_URL, MQGATE_REDIS_SENTINELS: set only one of them',
    ]);
  });

  it('does not touch the env object or the process environment', () => {
    const env = Object.freeze({ MQGATE_PORT: '9000' });
    expect(loadConfig({ env }).server.port).toBe(9000);
  });
});
