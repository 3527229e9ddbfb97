import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { STACK_MARKER_VAR, stackDir } from './paths.js';
import { HA, HOST, SINGLE } from './ports.js';
import { requireBinary } from './proc.js';
import type { Mode, ServiceDef, ServiceKind } from './service.js';

let cachedVersion: string | undefined;

function redisBinary(): string {
  return requireBinary('redis-server', 'redis-server');
}

function redisVersion(): string {
  if (cachedVersion === undefined) {
    const out = execFileSync(redisBinary(), ['--version'], { encoding: 'utf8' });
    cachedVersion = /v=([\d.]+)/.exec(out)?.[1] ?? 'unknown';
  }
  return cachedVersion;
}

/** Runs one command on a fresh connection that never retries, so a probe fails fast. */
async function withClient<T>(port: number, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    // surfaced through the rejected command
  });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

interface RedisNodeOptions {
  name: string;
  mode: Mode;
  kind: ServiceKind;
  port: number;
  /** Lines of redis.conf after the common ones. */
  extraConfig: string[];
  /**
   * Written once and then left alone: Sentinel rewrites the configs of the HA nodes (who is primary, the
   * sentinels it knows), and `start` must bring a node back with what Sentinel wrote.
   */
  keepExistingConfig: boolean;
  probe: (client: Redis) => Promise<boolean>;
}

function redisNode(o: RedisNodeOptions): ServiceDef {
  const dir = join(stackDir, o.name);
  const conf = join(dir, o.kind === 'sentinel' ? 'sentinel.conf' : 'redis.conf');
  const logFile = join(dir, `${o.kind === 'sentinel' ? 'sentinel' : 'redis'}.log`);
  return {
    name: o.name,
    kind: o.kind,
    mode: o.mode,
    url: o.kind === 'sentinel' ? `${HOST}:${o.port}` : `redis://${HOST}:${o.port}`,
    logFile,
    outFile: join(dir, `${o.name}.out`),
    readyTimeoutMs: o.kind === 'sentinel' ? 30_000 : 15_000,
    stopTimeoutMs: 10_000,
    version: redisVersion,
    async prepare() {
      redisBinary();
      mkdirSync(dir, { recursive: true });
      if (o.keepExistingConfig && existsSync(conf)) return;
      const common = [
        `bind ${HOST}`,
        `port ${o.port}`,
        'protected-mode yes',
        'daemonize no',
        `dir ${dir}`,
        `logfile ${logFile}`,
      ];
      writeFileSync(conf, `${[...common, ...o.extraConfig].join('\n')}\n`);
    },
    plan() {
      const args = o.kind === 'sentinel' ? [conf, '--sentinel'] : [conf];
      return {
        cmd: redisBinary(),
        args,
        cwd: dir,
        env: { ...process.env, [STACK_MARKER_VAR]: stackDir },
        logFile: join(dir, `${o.name}.out`),
      };
    },
    probe: () => withClient(o.port, o.probe),
  };
}

/** Durability as the gateway expects: every write is in the AOF and fsync'd before the reply. */
const DURABLE = ['appendonly yes', 'appendfsync always', 'appenddirname appendonly', 'save ""'];

const pingOk = async (client: Redis) => (await client.ping()) === 'PONG';

export function singleRedis(): ServiceDef[] {
  return [
    redisNode({
      name: 'redis',
      mode: 'single',
      kind: 'redis',
      port: SINGLE.redis,
      extraConfig: DURABLE,
      keepExistingConfig: false,
      probe: pingOk,
    }),
  ];
}

export function haRedis(): ServiceDef[] {
  const primary = redisNode({
    name: 'redis-primary',
    mode: 'ha',
    kind: 'redis',
    port: HA.redisPrimary,
    extraConfig: DURABLE,
    keepExistingConfig: true,
    probe: pingOk,
  });
  const replicas = HA.redisReplicas.map((port, i) =>
    redisNode({
      name: `redis-replica-${i + 1}`,
      mode: 'ha',
      kind: 'redis',
      port,
      extraConfig: [...DURABLE, `replicaof ${HOST} ${HA.redisPrimary}`],
      keepExistingConfig: true,
      probe: pingOk,
    }),
  );
  const name = HA.sentinelMasterName;
  const sentinels = HA.sentinels.map((port, i) =>
    redisNode({
      name: `sentinel-${i + 1}`,
      mode: 'ha',
      kind: 'sentinel',
      port,
      extraConfig: [
        'sentinel resolve-hostnames no',
        `sentinel monitor ${name} ${HOST} ${HA.redisPrimary} 2`,
        `sentinel down-after-milliseconds ${name} 3000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
      ],
      keepExistingConfig: true,
      // Ready once it can authorize a failover: it sees the master and enough sentinels for quorum.
      probe: async (client) => {
        const reply = (await client.call('SENTINEL', 'CKQUORUM', name)) as string;
        return reply.startsWith('OK');
      },
    }),
  );
  return [primary, ...replicas, ...sentinels];
}

/** The HA Redis topology is ready when every replica has a live link to the current primary. */
export async function redisHaTopologyReady(): Promise<boolean> {
  const addr = (await withClient(HA.sentinels[0], (c) =>
    c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', HA.sentinelMasterName),
  )) as [string, string] | null;
  if (!addr) return false;
  const primaryPort = Number(addr[1]);
  const nodes = [HA.redisPrimary, ...HA.redisReplicas].filter((p) => p !== primaryPort);
  for (const port of nodes) {
    const info = await withClient(port, (c) => c.info('replication'));
    if (!info.includes('master_link_status:up')) return false;
  }
  return true;
}
