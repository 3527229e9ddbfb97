import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { STACK_MARKER_VAR, stackDir } from './paths.js';
import { EPMD_PORT, HA, HOST, SINGLE } from './ports.js';
import { requireBinary, run } from './proc.js';
import {
  nodeDir,
  nodeLogFile,
  prepareRabbitNode,
  prepareRabbitShared,
  type RabbitNodeSpec,
  rabbitEnv,
  rabbitHome,
  rabbitUser,
} from './rabbitmq-env.js';
import type { ServiceDef } from './service.js';

const DEBIAN_SCRIPTS = '/usr/lib/rabbitmq/bin';

/**
 * The real scripts, not Debian's /usr/sbin wrappers: those `su` to rabbitmq with the system node's HOME and
 * cookie. We drop to the rabbitmq user ourselves (see rabbitmq-env.ts) and keep our own environment.
 */
function rabbitScript(name: 'rabbitmq-server' | 'rabbitmqctl'): string {
  const onPath = requireBinary(name, 'rabbitmq-server', [DEBIAN_SCRIPTS]);
  const debian = join(DEBIAN_SCRIPTS, name);
  return existsSync(debian) ? debian : onPath;
}

let cachedVersion: string | undefined;

function rabbitVersion(): string {
  if (cachedVersion === undefined) {
    const real = realpathSync(rabbitScript('rabbitmq-server'));
    cachedVersion = /rabbitmq_server-([\d.]+)/.exec(real)?.[1] ?? 'unknown';
  }
  return cachedVersion;
}

export function amqpUrl(port: number): string {
  return `amqp://guest:guest@${HOST}:${port}`;
}

function rabbitNode(spec: RabbitNodeSpec, mode: 'single' | 'ha'): ServiceDef {
  return {
    name: spec.name,
    kind: 'rabbitmq',
    mode,
    url: amqpUrl(spec.amqpPort),
    get logFile() {
      return nodeLogFile(spec);
    },
    get outFile() {
      return join(nodeDir(spec), `${spec.name}.out`);
    },
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 30_000,
    version: rabbitVersion,
    async prepare() {
      rabbitScript('rabbitmq-server');
      prepareRabbitShared();
      prepareRabbitNode(spec);
    },
    plan() {
      const user = rabbitUser();
      return {
        cmd: rabbitScript('rabbitmq-server'),
        args: [],
        cwd: rabbitHome(),
        env: rabbitEnv(spec),
        logFile: join(nodeDir(spec), `${spec.name}.out`),
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      };
    },
    async probe() {
      const conn = await connect(amqpUrl(spec.amqpPort), { timeout: 2000 });
      await conn.close();
      return true;
    },
  };
}

export const SINGLE_RABBIT: RabbitNodeSpec = {
  name: 'rabbitmq',
  nodeName: 'mqgate-rabbit@localhost',
  amqpPort: SINGLE.rabbitmq.amqp,
  distPort: SINGLE.rabbitmq.dist,
};

export const HA_RABBITS: RabbitNodeSpec[] = HA.rabbitmq.map((ports, i) => ({
  name: `rabbitmq-${i + 1}`,
  nodeName: `mqgate-rabbit-${i + 1}@localhost`,
  amqpPort: ports.amqp,
  distPort: ports.dist,
}));

export function singleRabbit(): ServiceDef[] {
  return [rabbitNode(SINGLE_RABBIT, 'single')];
}

export function haRabbit(): ServiceDef[] {
  return HA_RABBITS.map((spec) => rabbitNode(spec, 'ha'));
}

/** The stack's own epmd, shared by all its nodes (the system's RabbitMQ keeps the default one). */
export function epmdService(): ServiceDef {
  const dir = join(stackDir, 'epmd');
  const bin = () => requireBinary('epmd', 'erlang-base', ['/usr/lib/erlang/bin']);
  return {
    name: 'epmd',
    kind: 'epmd',
    mode: 'shared',
    url: `${HOST}:${EPMD_PORT}`,
    logFile: join(dir, 'epmd.out'),
    outFile: join(dir, 'epmd.out'),
    readyTimeoutMs: 10_000,
    stopTimeoutMs: 5_000,
    version: () => 'erlang',
    async prepare() {
      mkdirSync(dir, { recursive: true });
      bin();
    },
    plan() {
      return {
        cmd: bin(),
        args: ['-port', String(EPMD_PORT), '-address', HOST],
        cwd: dir,
        env: { ...process.env, [STACK_MARKER_VAR]: stackDir },
        logFile: join(dir, 'epmd.out'),
      };
    },
    probe: () =>
      new Promise((resolve, reject) => {
        const socket = createConnection({ host: HOST, port: EPMD_PORT }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', reject);
      }),
  };
}

/** rabbitmqctl against one of the stack's nodes, as the nodes' user, bounded. */
export async function rabbitmqctl(spec: RabbitNodeSpec, args: string[], timeoutMs = 60_000): Promise<string> {
  const user = rabbitUser();
  const result = await run(rabbitScript('rabbitmqctl'), ['-n', spec.nodeName, ...args], {
    env: rabbitEnv(spec),
    cwd: rabbitHome(),
    timeoutMs,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(0, 3).join(' ');
    throw new Error(`rabbitmqctl ${args.join(' ')} on ${spec.name} failed: ${detail}`);
  }
  return result.stdout;
}

async function clusterNodes(spec: RabbitNodeSpec): Promise<{ disk: string[]; running: string[] }> {
  const out = await rabbitmqctl(spec, ['cluster_status', '--formatter', 'json']);
  const parsed = JSON.parse(out) as { disk_nodes?: string[]; running_nodes?: string[] };
  return { disk: parsed.disk_nodes ?? [], running: parsed.running_nodes ?? [] };
}

/**
 * Joins rabbitmq-2 and -3 to rabbitmq-1 (once: a node that already lists the seed is left alone) and waits
 * until the seed sees all three running.
 */
export async function formRabbitCluster(log: (line: string) => void): Promise<void> {
  const [seed, ...others] = HA_RABBITS as [RabbitNodeSpec, ...RabbitNodeSpec[]];
  for (const node of others) {
    const { disk } = await clusterNodes(node);
    if (disk.includes(seed.nodeName)) continue;
    log(`rabbitmq: joining ${node.name} to ${seed.name}`);
    await rabbitmqctl(node, ['stop_app']);
    await rabbitmqctl(node, ['join_cluster', seed.nodeName]);
    await rabbitmqctl(node, ['start_app']);
  }
}

/** True when the seed node sees every HA node running. */
export async function rabbitClusterReady(): Promise<boolean> {
  const { running } = await clusterNodes(HA_RABBITS[0]!);
  return HA_RABBITS.every((n) => running.includes(n.nodeName));
}
