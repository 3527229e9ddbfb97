import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STACK_MARKER_VAR, stackDir } from './paths.js';
import { EPMD_PORT } from './ports.js';
import { lookupUser, traversableBy } from './proc.js';

/**
 * Where RabbitMQ nodes keep their files, and as whom they run.
 *
 * Debian's rabbitmq-server runs its nodes as the `rabbitmq` user. When we are root we do the same (the
 * Erlang VM refuses nothing as root, but files it creates would then be root's), so every directory of a
 * node must belong to `rabbitmq` and each parent must be traversable by it. A clone under a private home
 * (/root/...) is not: then the nodes live under /tmp/mqgate-stack-<hash>/ instead, and `status` names it.
 */
export interface RabbitUser {
  uid: number;
  gid: number;
}

export function rabbitUser(): RabbitUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return lookupUser('rabbitmq');
}

let cachedBase: string | undefined;

/** Root of all RabbitMQ files of the stack. */
export function rabbitBase(): string {
  if (cachedBase) return cachedBase;
  const user = rabbitUser();
  const preferred = join(stackDir, 'rabbitmq');
  if (!user || traversableBy(stackDir, user)) {
    cachedBase = preferred;
  } else {
    const hash = createHash('sha1').update(stackDir).digest('hex').slice(0, 10);
    cachedBase = join('/tmp', `mqgate-stack-${hash}`, 'rabbitmq');
  }
  return cachedBase;
}

/** mkdir -p, then hand the directory to the rabbitmq user when we run nodes as that user. */
export function ownedDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  const user = rabbitUser();
  if (user) chownSync(path, user.uid, user.gid);
  return path;
}

/** The files every node shares: HOME with the Erlang cookie, an empty env file, no plugins. */
export function prepareRabbitShared(): void {
  const base = rabbitBase();
  mkdirSync(dirname(base), { recursive: true, mode: 0o755 });
  // The fallback parent under /tmp is ours; make sure rabbitmq can walk through it.
  if (!base.startsWith(stackDir)) chmodSync(dirname(base), 0o755);
  ownedDir(base);
  const home = ownedDir(join(base, 'home'));
  const cookie = join(home, '.erlang.cookie');
  if (!existsSync(cookie)) {
    // An explicit cookie shared by the nodes and rabbitmqctl; Erlang wants it readable by its owner only.
    writeFileSync(cookie, randomBytes(15).toString('hex').toUpperCase(), { mode: 0o400 });
  }
  const user = rabbitUser();
  if (user) chownSync(cookie, user.uid, user.gid);
  // Debian's /etc/rabbitmq/rabbitmq-env.conf would set the system node's name and ERL_FLAGS: never read it.
  writeFileSync(join(base, 'rabbitmq-env.conf'), '');
  writeFileSync(join(base, 'enabled_plugins'), '[].\n');
}

export function rabbitHome(): string {
  return join(rabbitBase(), 'home');
}

export function cookieValue(): string {
  return readFileSync(join(rabbitHome(), '.erlang.cookie'), 'utf8').trim();
}

export interface RabbitNodeSpec {
  name: string;
  nodeName: string;
  amqpPort: number;
  distPort: number;
}

export function nodeDir(spec: RabbitNodeSpec): string {
  return join(rabbitBase(), spec.name);
}

export function nodeLogFile(spec: RabbitNodeSpec): string {
  return join(nodeDir(spec), 'log', `${spec.nodeName}.log`);
}

/** The environment of a node and of rabbitmqctl talking to it; nothing from the caller's Erlang setup. */
export function rabbitEnv(spec: RabbitNodeSpec): NodeJS.ProcessEnv {
  const base = rabbitBase();
  const dir = nodeDir(spec);
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: rabbitHome(),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ERL_EPMD_PORT: String(EPMD_PORT),
    RABBITMQ_NODENAME: spec.nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(spec.amqpPort),
    RABBITMQ_DIST_PORT: String(spec.distPort),
    RABBITMQ_CONF_ENV_FILE: join(base, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: nodeLogFile(spec),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    // Makes the start script exec the VM instead of forking it behind a signal-forwarding shell, so the
    // pid we record is the node's own (and SIGSTOP/SIGKILL hit it directly). It is only read by the script.
    RUNNING_UNDER_SYSTEMD: 'true',
    [STACK_MARKER_VAR]: stackDir,
  };
}

export function prepareRabbitNode(spec: RabbitNodeSpec): void {
  const dir = ownedDir(nodeDir(spec));
  ownedDir(join(dir, 'mnesia'));
  ownedDir(join(dir, 'log'));
  const conf = [
    `listeners.tcp.default = 127.0.0.1:${spec.amqpPort}`,
    'loopback_users.guest = true',
    'log.console = false',
    'log.file.level = info',
  ];
  writeFileSync(join(dir, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
}
