import { describe, expect, it } from 'vitest';
import { parseConfig, redactConfig, redactUrl } from '../../src/config/index.js';

describe('redaction', () => {
  const config = parseConfig({
    outbox: { driver: 'postgres', url: 'postgres://mqgate:pgpass@db:5432/mqgate' },
    backends: {
      kafka: {
        type: 'kafka',
        brokers: ['k:9092'],
        sasl: { mechanism: 'scram-sha-256', username: 'svc', password: 'saslpass' },
      },
      rabbit: { type: 'rabbitmq', urls: ['amqp://guest:rabbitpass@r:5672', 'amqps://r2:5671'] },
      redis: { type: 'redis', url: 'rediss://:redispass@cache:6380/0' },
      jobs: { type: 'bullmq', sentinels: ['s:26379'], name: 'm', password: 'sentinelpass' },
    },
    routes: [{ match: '*', backends: ['kafka'] }],
    auth: { mode: 'apiKey', keys: [{ name: 'svc', sha256: 'f'.repeat(64) }], acl: [] },
  });

  it('masks URL passwords, SASL and Sentinel passwords and API keys', () => {
    const safe = redactConfig(config);
    const text = JSON.stringify(safe);
    for (const secret of ['pgpass', 'saslpass', 'rabbitpass', 'redispass', 'sentinelpass', 'f'.repeat(64)]) {
      expect(text).not.toContain(secret);
    }
    expect(safe.outbox).toMatchObject({ url: 'postgres://mqgate:***@db:5432/mqgate' });
    expect(safe.backends.rabbit).toMatchObject({ urls: ['amqp://guest:***@r:5672', 'amqps://r2:5671'] });
    expect(safe.backends.redis).toMatchObject({ connection: { url: 'rediss://:***@cache:6380/0' } });
    expect(safe.backends.kafka).toMatchObject({ sasl: { username: 'svc', password: '***' } });
    expect(safe.auth).toEqual({ mode: 'apiKey', keys: [{ name: 'svc', sha256: '***' }], acl: [] });
  });

  it('masks the JWT secret', () => {
    const jwt = parseConfig({
      backends: { k: { type: 'kafka', brokers: ['k:1'] } },
      routes: [{ match: '*', backends: ['k'] }],
      auth: { mode: 'jwt', secret: 'topsecret', issuer: 'iss', audience: 'aud' },
    });
    expect(redactConfig(jwt).auth).toMatchObject({
      mode: 'jwt',
      secret: '***',
      issuer: 'iss',
      audience: 'aud',
    });
  });

  it('returns a copy and leaves the frozen config as it was', () => {
    const safe = redactConfig(config);
    expect(safe).not.toBe(config);
    expect(config.backends.kafka).toMatchObject({ sasl: { password: 'saslpass' } });
  });

  it('redactUrl masks invalid URLs too and leaves password-less ones alone', () => {
    expect(redactUrl('amqp//u:p@h')).toBe('amqp//u:***@h');
    expect(redactUrl('u:p@h:5672')).toBe('u:***@h:5672');
    expect(redactUrl('amqp://u:p@ss@h:5672/vhost')).toBe('amqp://u:***@h:5672/vhost');
    expect(redactUrl('http://u:p@h and redis://:x@y')).toBe('http://u:***@h and redis://:***@y');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});
