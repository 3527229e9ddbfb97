import { writeEnvFile } from './env.js';
import { StackError } from './errors.js';
import { kafkaHaReady } from './kafka.js';
import { cachedKafkaLibs, fetchKafka } from './kafka-fetch.js';
import { killService, type Log, liveRecord, startService, stopService } from './lifecycle.js';
import { withStackLock } from './lock.js';
import { STACK_MARKER_VAR, stackDir } from './paths.js';
import { postgresBinDir } from './postgres.js';
import { pidsWithEnv, requireBinary, waitUntil } from './proc.js';
import { formRabbitCluster, rabbitClusterReady } from './rabbitmq.js';
import { redisHaTopologyReady } from './redis.js';
import { serviceNamed, servicesOf } from './registry.js';
import type { Mode, ServiceDef } from './service.js';
import { readState, updateState } from './state.js';

/** Waits for every promise, then fails with all the errors (one line each) if any failed. */
async function all(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (errors.length > 0) throw new StackError(errors.join('\n'));
}

const ofKind = (defs: ServiceDef[], ...kinds: string[]) => defs.filter((d) => kinds.includes(d.kind));

async function startAll(defs: ServiceDef[], log: Log): Promise<void> {
  await all(defs.map((d) => startService(d, log)));
}

/** Fails before anything starts when a server binary is missing (one line per missing package). */
function preflight(): void {
  const checks: [string, string, string[]][] = [
    ['redis-server', 'redis-server', []],
    ['rabbitmq-server', 'rabbitmq-server', ['/usr/lib/rabbitmq/bin']],
    ['epmd', 'erlang-base', ['/usr/lib/erlang/bin']],
    ['java', 'default-jre-headless', []],
  ];
  if (!cachedKafkaLibs()) checks.push(['mvn', 'maven', []]);
  const found: (() => unknown)[] = [
    ...checks.map(
      ([bin, pkg, dirs]) =>
        () =>
          requireBinary(bin, pkg, dirs),
    ),
    postgresBinDir,
  ];
  const missing = found.flatMap((check) => {
    try {
      check();
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  });
  if (missing.length > 0) throw new StackError(missing.join('\n'));
}

/** Starts what a service needs first: epmd for RabbitMQ nodes, the jars for Kafka. */
async function ensureDependencies(def: ServiceDef, log: Log): Promise<void> {
  if (def.kind === 'rabbitmq') await startService(serviceNamed('epmd'), log);
  if (def.kind === 'kafka') await fetchKafka(log);
}

export function runningModes(): { single: boolean; ha: boolean } {
  const names = Object.keys(readState().services).filter((n) => liveRecord(n));
  const modeOf = (n: string) => serviceNamed(n).mode;
  return { single: names.some((n) => modeOf(n) === 'single'), ha: names.some((n) => modeOf(n) === 'ha') };
}

/**
 * Starts the single-node stack (or the HA one), leaving running services alone, and resolves once every
 * broker answers a real request (HA: once the clusters have formed). Returns the connection settings that
 * were written to .stack/env.
 */
export function stackUp(opts: { ha?: boolean; log?: Log } = {}): Promise<Record<string, string>> {
  const log = opts.log ?? (() => undefined);
  const mode: Mode = opts.ha ? 'ha' : 'single';
  return withStackLock(async () => {
    preflight();
    const defs = servicesOf(mode);
    const kafka = ofKind(defs, 'kafka');
    const rabbit = ofKind(defs, 'rabbitmq');
    const redis = ofKind(defs, 'redis', 'sentinel');
    const bounded = (probe: () => Promise<boolean>, what: string) =>
      waitUntil(probe, { timeoutMs: 90_000, intervalMs: 1000, what });
    await all([
      (async () => {
        await fetchKafka(log);
        await startAll(kafka, log);
        if (opts.ha) await bounded(kafkaHaReady, 'kafka cluster (3 brokers)');
      })(),
      (async () => {
        await startService(serviceNamed('epmd'), log);
        await startAll(rabbit, log);
        if (opts.ha) {
          await formRabbitCluster(log);
          await bounded(rabbitClusterReady, 'rabbitmq cluster (3 nodes)');
        }
      })(),
      (async () => {
        await startAll(redis, log);
        if (opts.ha) await bounded(redisHaTopologyReady, 'redis replication (primary + 2 replicas)');
      })(),
      startAll(ofKind(defs, 'postgres'), log),
    ]);
    return writeEnvFile(runningModes());
  });
}

/**
 * Stops what the stack started (all of it, or one mode's services), each by its process group, then
 * kills any stray process that carries the stack's marker. Data stays under .stack/ for the next `up`.
 */
export function stackDown(opts: { mode?: 'single' | 'ha'; log?: Log } = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  return withStackLock(async () => {
    const names = Object.keys(readState().services);
    const targets = names
      .map(serviceNamed)
      .filter((d) => d.mode !== 'shared' && (!opts.mode || d.mode === opts.mode));
    await all(targets.map((d) => stopService(d, log, 20_000)));
    const remaining = Object.keys(readState().services).filter(
      (n) => !targets.some((t) => t.name === n) && serviceNamed(n).mode !== 'shared',
    );
    const lastOne = remaining.length === 0;
    if (lastOne) {
      await stopService(serviceNamed('epmd'), log);
      for (const pid of pidsWithEnv(STACK_MARKER_VAR, stackDir)) {
        log(`down: killing stray process ${pid}`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await updateState((s) => {
      for (const t of targets) delete s.services[t.name];
      if (lastOne) s.services = {};
    });
    writeEnvFile(runningModes());
  });
}

/** Starts one service again with its data (after `kill` or `stop`), and waits until it answers. */
export function serviceStart(name: string, log: Log = () => undefined): Promise<void> {
  const def = serviceNamed(name);
  return withStackLock(async () => {
    await ensureDependencies(def, log);
    await startService(def, log);
    writeEnvFile(runningModes());
  });
}

/** Clean stop of one service (SIGTERM, SIGKILL after its timeout). */
export function serviceStop(name: string, log: Log = () => undefined): Promise<void> {
  return withStackLock(() => stopService(serviceNamed(name), log));
}

/** SIGKILL of one service's process group. */
export function serviceKill(name: string): Promise<void> {
  return withStackLock(() => killService(serviceNamed(name)));
}
