import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';
import { MqgateError } from '../../src/errors.js';

const base = () => ({
  backends: {
    kafka: { type: 'kafka', brokers: ['127.0.0.1:9092'] },
    rabbit: { type: 'rabbitmq', urls: ['amqp://guest:guest@127.0.0.1:5672'] },
  },
  routes: [{ match: 'orders.*', backends: ['kafka', 'rabbit'] }],
});

type Raw = ReturnType<typeof base> & Record<string, unknown>;

function problems(edit: (raw: Raw) => void): readonly string[] {
  const raw = base() as Raw;
  edit(raw);
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

function loadText(text: string): ConfigError {
  const file = join(mkdtempSync(join(tmpdir(), 'mqgate-config-')), 'bad.yaml');
  writeFileSync(file, text);
  try {
    loadConfig({ file, env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors: one line per problem, naming the key', () => {
  it('is a MqgateError with code MQGATE_ERR_CONFIG', () => {
    const err = loadText('backends: {}\nroutes: []\n');
    expect(err).toBeInstanceOf(MqgateError);
    expect(err.code).toBe('MQGATE_ERR_CONFIG');
    expect(err.retriable).toBe(false);
    expect(err.problems).toEqual([
      'backends: must name at least one backend',
      'routes: must list at least 1 item',
    ]);
  });

  it.each<[string, (raw: Raw) => void, string]>([
    [
      'unknown backend type',
      (raw) => Object.assign(raw.backends.kafka, { type: 'kafak' }),
      'backends.kafka.type: unknown backend type "kafak" (expected kafka, rabbitmq, redis, bullmq)',
    ],
    [
      'route naming a missing backend',
      (raw) => raw.routes[0]!.backends.splice(1, 1, 'rabit'),
      'routes[0].backends[1]: no backend named "rabit" (did you mean "rabbit"?)',
    ],
    [
      'bad port',
      (raw) => Object.assign(raw, { server: { port: '80a' } }),
      'server.port: must be an integer 0-65535, got "80a"',
    ],
    [
      'port out of range',
      (raw) => Object.assign(raw, { server: { port: 70000 } }),
      'server.port: must be an integer 0-65535, got 70000',
    ],
    [
      'bad size',
      (raw) => Object.assign(raw, { outbox: { driver: 'sqlite', maxBytes: '1gbb' } }),
      'outbox.maxBytes: invalid size "1gbb"',
    ],
    [
      'bad duration',
      (raw) => Object.assign(raw, { failover: { openFor: '2 sec' } }),
      'failover.openFor: invalid duration "2 sec"',
    ],
    [
      'zero duration',
      (raw) => Object.assign(raw, { relay: { lease: '0s' } }),
      'relay.lease: must be more than 0, got "0s"',
    ],
    [
      'unknown key (typo)',
      (raw) => Object.assign(raw, { server: { prot: 80 } }),
      'server.prot: unknown key (did you mean "port"? expected host, port, bodyLimit, shutdownDelay)',
    ],
    [
      'unknown top-level section',
      (raw) => Object.assign(raw, { relays: {} }),
      'relays: unknown key (did you mean "relay"? expected server, outbox, backends, routes, failover, auth, rateLimit, limits, relay, log, subscriptions)',
    ],
    [
      'unknown key in a backend',
      (raw) => Object.assign(raw.backends.kafka, { broker: ['x:1'] }),
      'backends.kafka.broker: unknown key (did you mean "brokers"? expected type, brokers, partitions, replicationFactor, clientId, ssl, sasl)',
    ],
    [
      'invalid glob',
      (raw) => Object.assign(raw.routes[0]!, { match: 'orders.**' }),
      'routes[0].match: invalid topic glob "orders.**"',
    ],
    [
      'glob with a space',
      (raw) => Object.assign(raw.routes[0]!, { match: 'a b' }),
      'routes[0].match: invalid topic glob "a b"',
    ],
    ['no routes', (raw) => Object.assign(raw, { routes: [] }), 'routes: must list at least 1 item'],
    [
      'routes missing',
      (raw) => Object.assign(raw, { routes: undefined }),
      'routes: missing; expected a non-empty list',
    ],
    [
      'no backends',
      (raw) => Object.assign(raw, { backends: {} }),
      'backends: must name at least one backend',
    ],
    [
      'partitions 0',
      (raw) => Object.assign(raw.backends.kafka, { partitions: 0 }),
      'backends.kafka.partitions: must be a positive integer, got 0',
    ],
    [
      'partitions not an integer',
      (raw) => Object.assign(raw.backends.kafka, { partitions: 2.5 }),
      'backends.kafka.partitions: must be a positive integer, got 2.5',
    ],
    [
      'missing brokers',
      (raw) => Object.assign(raw.backends, { k2: { type: 'kafka' } }),
      'backends.k2.brokers: missing; expected a non-empty list of host:port',
    ],
    [
      'bad broker',
      (raw) => Object.assign(raw.backends.kafka, { brokers: ['nohost'] }),
      'backends.kafka.brokers[0]: invalid host:port "nohost"',
    ],
    [
      'route mode',
      (raw) => Object.assign(raw.routes[0]!, { mode: 'fail' }),
      'routes[0].mode: must be one of failover, mirror, balance, got "fail"',
    ],
    [
      'redis with neither url nor sentinels',
      (raw) => Object.assign(raw.backends, { r: { type: 'redis' } }),
      'backends.r.url: missing; expected a redis:// URL, or sentinels + name',
    ],
    [
      'redis with both url and sentinels',
      (raw) =>
        Object.assign(raw.backends, {
          r: { type: 'redis', url: 'redis://h:6379', sentinels: ['s:26379'], name: 'm' },
        }),
      'backends.r: set either url or sentinels + name, not both',
    ],
    [
      'sentinels without a name',
      (raw) => Object.assign(raw.backends, { r: { type: 'bullmq', sentinels: ['s:26379'] } }),
      'backends.r.name: missing; expected the Sentinel master name (sentinels are set)',
    ],
    [
      'jwt without secret',
      (raw) => Object.assign(raw, { auth: { mode: 'jwt', issuer: 'i', audience: 'a' } }),
      'auth.secret: missing; expected an HS256 secret, or publicKey for RS256',
    ],
    [
      'unknown auth mode',
      (raw) => Object.assign(raw, { auth: { mode: 'basic' } }),
      'auth.mode: unknown auth mode "basic" (expected none, apiKey, jwt)',
    ],
    [
      'unknown outbox driver',
      (raw) => Object.assign(raw, { outbox: { driver: 'mysql' } }),
      'outbox.driver: unknown outbox driver "mysql" (expected sqlite, postgres)',
    ],
    [
      'log level',
      (raw) => Object.assign(raw, { log: { level: 'verbose' } }),
      'log.level: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [
      'shadowed route',
      (raw) => raw.routes.unshift({ match: '*', backends: ['kafka'] }),
      'routes[1].match: unreachable: routes[0] matches every topic and comes first',
    ],
    [
      'backoff order',
      (raw) => Object.assign(raw, { relay: { backoffInitial: '1m', backoffMax: '2s' } }),
      'relay.backoffInitial: must not exceed relay.backoffMax (2s)',
    ],
    [
      'a backend that is not a mapping',
      (raw) => Object.assign(raw.backends, { x: 5 }),
      'backends.x: must be a mapping with type: kafka | rabbitmq | redis | bullmq, got 5',
    ],
  ])('%s', (_name, edit, expected) => {
    const lines = problems(edit);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
    expect(lines[0]).not.toContain('\n');
  });

  it('reports every problem at once: 3 problems, 3 lines', () => {
    const err = loadText(
      [
        'server: { port: 80a }',
        'outbox: { driver: sqlite, maxBytes: 1gbb }',
        'backends:',
        '  kafka: { type: kafka, brokers: [127.0.0.1:9092] }',
        '  rabbit: { type: rabbitmq, urls: ["amqp://guest:guest@127.0.0.1:5672"] }',
        'routes:',
        '  - { match: "*", backends: [kafka, rabit] }',
        '',
      ].join('\n'),
    );
    expect([...err.problems].sort()).toEqual([
      'outbox.maxBytes: invalid size "1gbb"',
      'routes[0].backends[1]: no backend named "rabit" (did you mean "rabbit"?)',
      'server.port: must be an integer 0-65535, got "80a"',
    ]);
    expect(err.message.split('\n')).toHaveLength(4);
  });

  it('a YAML syntax error is one line with the file and line', () => {
    const err = loadText('server:\n  port: 8080\n backends: [\n');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/bad\.yaml:\d+:\d+: YAML syntax error: /);
    expect(err.problems[0]).not.toContain('\n');
  });

  it('a duplicate key is a syntax error naming the line', () => {
    const err = loadText('server:\n  port: 1\n  port: 2\n');
    expect(err.problems[0]).toMatch(/bad\.yaml:3:\d+: YAML syntax error: Map keys must be unique/);
  });

  it('a missing file names MQGATE_CONFIG when it came from there', () => {
    expect(() => loadConfig({ env: { MQGATE_CONFIG: '/nonexistent/mqgate.yaml' } })).toThrow(
      /MQGATE_CONFIG: cannot read config file \/nonexistent\/mqgate.yaml \(ENOENT\)/,
    );
  });

  it('never prints a secret', () => {
    const lines = problems((raw) => {
      Object.assign(raw.backends.rabbit, { urls: ['http://guest:hunter2@127.0.0.1:5672'] });
      Object.assign(raw, { auth: { mode: 'jwt', secret: 5, issuer: 'i', audience: 'a' } });
      Object.assign(raw.backends.kafka, { sasl: { mechanism: 'plain', username: 'u', password: 42 } });
    });
    const text = lines.join('\n');
    expect(text).toContain('invalid amqp URL "http://guest:***@127.0.0.1:5672"');
    expect(text).toContain('auth.secret: must be a non-empty string, got <redacted>');
    expect(text).toContain('backends.kafka.sasl.password: must be a non-empty string, got <redacted>');
    expect(text).not.toMatch(/hunter2|42/);
  });
});
