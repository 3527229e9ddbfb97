import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type BackendConfig,
  type Config,
  ENV_VARS,
  loadConfig,
  packageRoot,
} from '../../src/config/index.js';
import { composeSeconds, drainBudgetMs, maxWaitMs, statusOf } from '../helpers/deploy-checks.js';

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
  stop_grace_period?: string;
  configs?: { source: string; target: string }[];
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, unknown>;
}

/**
 * Compose's variable interpolation with nothing set: `${NAME:-default}` and `${NAME-default}` become the
 * default, `${NAME}` and `$NAME` empty, `$$` a literal `$` (https://docs.docker.com/reference/compose-file/interpolation/).
 */
function interpolate(text: string): string {
  return text.replace(
    /\$(\$|\{([A-Za-z_]\w*)(?::?-([^}]*))?\}|[A-Za-z_]\w*)/g,
    (_m, what, _name, fallback) => (what === '$' ? '$' : (fallback ?? '')),
  );
}

const root = packageRoot();
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(interpolate(composeText), { merge: true }) as Compose;
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

/** The container port published on `hostPort` ("8082:8080" -> 8080). */
function containerPort(service: Service, hostPort: number): number | undefined {
  const mapping = (service.ports ?? []).find((p) => Number(String(p).split(':').at(-2)) === hostPort);
  return mapping === undefined ? undefined : Number(String(mapping).split(':').at(-1));
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

// ---- every profile ------------------------------------------------------------------------------------

const PROFILES = ['ha', 'scale', 'ui'] as const;

/** Services `docker compose --profile <profile> up` starts (undefined: plain `docker compose up`). */
const enabledIn = (profile: string | undefined) =>
  services.filter(([, s]) => !s.profiles || (profile !== undefined && s.profiles.includes(profile)));

/** The profiles a service runs in (undefined stands for the default stack). */
const profilesOf = (s: Service): (string | undefined)[] => s.profiles ?? [undefined, ...PROFILES];

/** The gateways: services built from the repository's Dockerfile. */
const gateways = services.filter(([, s]) => s.build !== undefined);

/**
 * The config a gateway service runs with: its MQGATE_CONFIG (an /app path in the image, the repository's
 * config/ here) and its environment, as the gateway itself loads them (unknown keys and bad values throw).
 */
function gatewayConfig(service: Service): Config {
  const env = { ...service.environment };
  const file = env.MQGATE_CONFIG;
  if (!file?.startsWith('/app/')) throw new Error(`MQGATE_CONFIG ${file}: expected a file of the image`);
  delete env.MQGATE_CONFIG;
  return loadConfig({ file: join(root, file.slice('/app/'.length)), env, cwd: '/app' });
}

/** Host names (with ports) a loaded config connects to. */
function endpointsOf(config: Config): { host: string; port: number; what: string }[] {
  const out: { host: string; port: number; what: string }[] = [];
  for (const b of Object.values(config.backends)) {
    if (b.type === 'kafka') {
      for (const broker of b.brokers) {
        const [host, port] = broker.split(':');
        out.push({ host: host!, port: Number(port), what: `${b.name} broker` });
      }
    } else if (b.type === 'rabbitmq') {
      for (const u of b.urls)
        out.push({ host: new URL(u).hostname, port: Number(new URL(u).port || 5672), what: b.name });
    } else if (b.connection.mode === 'url') {
      const u = new URL(b.connection.url);
      out.push({ host: u.hostname, port: Number(u.port || 6379), what: b.name });
    } else {
      for (const s of b.connection.sentinels)
        out.push({ host: s.host, port: s.port, what: `${b.name} sentinel` });
    }
  }
  if (config.outbox.driver === 'postgres') {
    const u = new URL(config.outbox.url);
    out.push({ host: u.hostname, port: Number(u.port || 5432), what: 'outbox' });
  }
  return out;
}

/** Ports a service listens on inside the network (its listeners, or what the image is known to serve). */
function listens(name: string, s: Service): number[] {
  const env = s.environment ?? {};
  // Kafka: the listener it advertises under its own name (the other one advertises 127.0.0.1, for the host).
  if (env.KAFKA_ADVERTISED_LISTENERS) {
    return env.KAFKA_ADVERTISED_LISTENERS.split(',')
      .map((l) => new URL(l))
      .filter((u) => u.hostname === name)
      .map((u) => Number(u.port));
  }
  if (s.image?.startsWith('rabbitmq')) return [5672];
  if (s.image?.startsWith('postgres')) return [5432];
  if (/redis-sentinel/.test(commandText(s))) return [26379];
  if (s.image?.startsWith('redis')) return [6379];
  throw new Error(`no known listener for ${name}`);
}

describe('docker-compose.yml profiles', () => {
  it('are ha, scale and ui, and each one starts a consistent set of services', () => {
    const used = new Set(services.flatMap(([, s]) => s.profiles ?? []));
    expect([...used].sort()).toEqual([...PROFILES]);
    for (const profile of [undefined, ...PROFILES]) {
      const names = new Set(enabledIn(profile).map(([name]) => name));
      for (const [name, s] of enabledIn(profile)) {
        for (const target of Object.keys(s.depends_on ?? {})) {
          expect(names.has(target), `${profile ?? 'default'}: ${name} depends on ${target}`).toBe(true);
        }
      }
    }
  });

  it.each(gateways.map(([name, s]) => [name, s] as const))(
    'gateway %s loads its config, whose hosts are services of its profiles',
    (name, s) => {
      const env = s.environment ?? {};
      for (const variable of Object.keys(env)) {
        const known = (ENV_VARS as readonly string[]).includes(variable) || variable.startsWith('MQGATE__');
        expect(known, `${name}: ${variable} is read by src/config/env.ts`).toBe(true);
      }
      const config = gatewayConfig(s);
      for (const profile of profilesOf(s)) {
        const enabled = new Map(enabledIn(profile));
        for (const { host, port, what } of endpointsOf(config)) {
          const target = enabled.get(host);
          expect(target, `${name} (${profile ?? 'default'}): ${what} host ${host}`).toBeDefined();
          expect(listens(host, target!), `${name}: ${what} ${host}:${port}`).toContain(port);
        }
      }
      for (const host of published(s)) expect(containerPort(s, host)).toBe(config.server.port);
      if (config.outbox.driver === 'sqlite') {
        const dir = posix.dirname(config.outbox.path);
        const mount = (s.volumes ?? []).find((v) => v.split(':')[1] === dir);
        expect(mount, `${name}: a named volume at ${dir} keeps the SQLite outbox`).toBeDefined();
        expect(mount!.startsWith('/') || mount!.startsWith('.')).toBe(false);
      } else {
        const db = compose.services[new URL(config.outbox.url).hostname]!;
        const url = new URL(config.outbox.url);
        expect(url.username).toBe(db.environment?.POSTGRES_USER);
        expect(decodeURIComponent(url.password)).toBe(db.environment?.POSTGRES_PASSWORD);
        expect(url.pathname).toBe(`/${db.environment?.POSTGRES_DB}`);
      }
    },
  );

  it.each(gateways.map(([name, s]) => [name, s] as const))(
    'gateway %s has the time to drain before Docker kills it',
    (_name, s) => {
      const config = gatewayConfig(s);
      expect(s.stop_grace_period).toBeDefined();
      expect(composeSeconds(s.stop_grace_period!)).toBeGreaterThanOrEqual(
        drainBudgetMs(config.server.shutdownDelayMs) / 1000,
      );
    },
  );

  it('every RabbitMQ of a profile has its management UI published on a host port', () => {
    for (const profile of [undefined, 'ha']) {
      const rabbits = enabledIn(profile).filter(
        ([, s]) => s.image?.startsWith('rabbitmq') && s.profiles?.[0] === profile,
      );
      expect(rabbits.length, profile).toBeGreaterThan(0);
      expect(rabbits.every(([, s]) => s.image?.endsWith('-management'))).toBe(true);
      const ui = rabbits.filter(([, s]) => (s.ports ?? []).some((p) => String(p).endsWith(':15672')));
      expect(ui.length, `${profile ?? 'default'}: a node publishing 15672`).toBeGreaterThan(0);
    }
  });

  it('a Kafka UI (kafbat) reaches the brokers of each profile that runs one', () => {
    const uis = services.filter(([, s]) => s.image?.startsWith('ghcr.io/kafbat/kafka-ui'));
    const covered = new Set<string>();
    for (const [name, s] of uis) {
      const bootstrap = s.environment?.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS?.split(',') ?? [];
      expect(bootstrap.length, name).toBeGreaterThan(0);
      for (const profile of s.profiles ?? []) {
        covered.add(profile);
        const enabled = new Map(enabledIn(profile));
        for (const broker of bootstrap) {
          const [host, port] = broker.split(':');
          expect(enabled.get(host!)?.image, `${name} (${profile}): ${host}`).toMatch(/^apache\/kafka/);
          expect(listens(host!, enabled.get(host!)!)).toContain(Number(port));
        }
      }
      expect(published(s).length, `${name} publishes its port`).toBe(1);
      expect(containerPort(s, published(s)[0]!)).toBe(8080);
    }
    expect([...covered].sort()).toEqual(['ha', 'scale', 'ui']);
  });
});

describe('docker-compose.yml profile scale', () => {
  const scale = services.filter(([, s]) => s.profiles?.includes('scale'));
  const replicas = scale.filter(([, s]) => s.build !== undefined);
  const lb = compose.services.lb!;
  const haproxy = String((compose.configs?.['haproxy-cfg'] as { content?: string } | undefined)?.content);
  /** The lines of one section (`backend gateways`) of haproxy.cfg, trimmed, comments dropped. */
  const section = (header: string) => {
    const lines = haproxy.split('\n');
    const start = lines.findIndex((l) => l.trim() === header);
    expect(start, header).toBeGreaterThanOrEqual(0);
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => /^\S/.test(l));
    return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  };

  it('runs PostgreSQL and 3 gateway replicas on it, built from the Dockerfile, sharing one config', () => {
    expect(scale.filter(([, s]) => s.image?.startsWith('postgres')).map(([n]) => n)).toEqual(['postgres']);
    expect(replicas.map(([name]) => name).sort()).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
    const configs = replicas.map(([, s]) => gatewayConfig(s));
    for (const config of configs) {
      expect(config.outbox.driver).toBe('postgres');
      expect(config).toEqual({ ...configs[0]!, source: config.source });
    }
    for (const [, s] of replicas) expect(s.environment?.MQGATE_OUTBOX_URL).toMatch(/^postgres:\/\//);
    // The config file itself holds no password: MQGATE_OUTBOX_URL brings it.
    const file = replicas[0]![1].environment!.MQGATE_CONFIG!;
    const text = readFileSync(join(root, file.slice('/app/'.length)), 'utf8');
    expect(new URL(/url: (\S+)/.exec(text)![1]!).password).toBe('');
  });

  it('the load balancer spreads over exactly the 3 replicas, on their server.port', () => {
    const servers = section('backend gateways')
      .filter((l) => l.startsWith('server '))
      .map((l) => l.split(/\s+/)[2]!);
    expect(servers.map((s) => s.split(':')[0]).sort()).toEqual(replicas.map(([name]) => name).sort());
    for (const server of servers) {
      const [host, port] = server.split(':');
      expect(Number(port), host).toBe(gatewayConfig(compose.services[host!]!).server.port);
    }
    expect(Object.keys(lb.depends_on ?? {}).sort()).toEqual(replicas.map(([name]) => name).sort());
    expect(lb.configs?.map((c) => c.target)).toEqual(['/usr/local/etc/haproxy/haproxy.cfg']);
  });

  it('the load balancer health-checks /readyz, which the gateway serves, and publishes its frontend', async () => {
    const backend = section('backend gateways');
    const check = backend.find((l) => l.startsWith('option httpchk'))!.split(/\s+/);
    expect(check.slice(2)).toEqual(['GET', '/readyz']);
    expect(backend).toContain('http-check expect status 200');
    expect(backend.find((l) => l.startsWith('default-server'))).toMatch(/\bcheck\b/);
    expect((await statusOf(['/readyz']))['/readyz']).toBe(200);
    const bind = Number(
      section('frontend mqgate')
        .find((l) => l.startsWith('bind'))!
        .split(':')
        .at(-1),
    );
    expect(published(lb).map((p) => containerPort(lb, p))).toContain(bind);
    expect(published(lb)).toContain(8082);
    const stats = Number(
      section('frontend stats')
        .find((l) => l.startsWith('bind'))!
        .split(':')
        .at(-1),
    );
    expect(published(lb).map((p) => containerPort(lb, p))).toContain(stats);
  });

  it('the load balancer waits for a ?wait=delivered publish and resends only what was not stored', () => {
    const defaults = section('defaults');
    const timeout = defaults.find((l) => l.startsWith('timeout server'))!.split(/\s+/)[2]!;
    expect(composeSeconds(timeout) * 1000).toBeGreaterThan(maxWaitMs());
    // conn-failure: never reached a replica; 503: mqgate answers it only when nothing was stored.
    const retryOn = defaults
      .find((l) => l.startsWith('retry-on'))!
      .split(/\s+/)
      .slice(1);
    expect(retryOn.sort()).toEqual(['503', 'conn-failure']);
  });

  it('keeps the Postgres password out of the file (a variable with a development default)', () => {
    expect(composeText).toMatch(/POSTGRES_PASSWORD: \$\{MQGATE_PG_PASSWORD:-[^}]+\}/);
    expect(composeText).toMatch(/MQGATE_OUTBOX_URL: postgres:\/\/mqgate:\$\{MQGATE_PG_PASSWORD:-[^}]+\}@/);
  });
});
