import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runningModes, serviceKill, serviceStart, stackDown, stackUp } from '../../scripts/stack/index.js';
import { redisHaTopologyReady } from '../../scripts/stack/redis.js';
import { eventually } from '../helpers/gateway-process.js';
import { type Accounting, account, report } from './harness/accounting.js';
import {
  kafkaServiceOf,
  partitionLeaders,
  redisMasterAddress,
  redisServiceOf,
  topicDurability,
} from './harness/ha-brokers.js';
import { HaWorld, haStackEnv } from './harness/ha-world.js';
import { SteadyPublisher } from './harness/publisher.js';
import { measureRecovery, type Recovery } from './harness/recovery.js';
import { sleep } from './harness/scenario.js';

/**
 * Node deaths inside each broker cluster of the `--ha` stack (docs/stack.md): the gateway's route has one
 * backend, a cluster, and a steady publisher keeps posting over HTTP while a node is killed with SIGKILL and
 * restarted. The cluster and the adapter's client must absorb it: nothing acknowledged lost, per-key order
 * kept, no publish answered 5xx. Each scenario prints its accounting and how long the gateway took to get
 * going again. See docs/durability.md for what each broker promises with these settings.
 */

// Bringing the HA stack up takes 70-130 s on a loaded 2-core machine.
const STACK_UP_MS = 240_000;

let startedHa = false;
const worlds: HaWorld[] = [];
const killed = new Set<string>();

beforeAll(async () => {
  startedHa = !runningModes().ha;
  await stackUp({ ha: true });
}, STACK_UP_MS);

afterEach(async () => {
  // Whatever a scenario did, the next one starts with every node up. stackUp starts what is down in parallel
  // (one Kafka node alone cannot get ready: it needs a controller quorum) and waits for the clusters.
  if (killed.size > 0) await stackUp({ ha: true });
  killed.clear();
  for (const w of worlds.splice(0)) await w.close();
}, STACK_UP_MS);

afterAll(async () => {
  // Leave the machine as found: stop the HA stack only if this file started it (the single stack is the
  // global setup's business).
  // To keep it between runs, start it by hand first: `npm run stack -- up --ha`.
  if (startedHa) await stackDown({ mode: 'ha' });
}, 120_000);

/** `eventually` for checks that talk to a cluster in turmoil: a failed check counts as "not yet". */
function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  return eventually(
    async () => {
      const ok = await check().catch(() => false);
      if (!ok) await sleep(400);
      return ok;
    },
    timeoutMs,
    what,
  );
}

async function kill(name: string): Promise<number> {
  killed.add(name);
  await serviceKill(name);
  return Date.now();
}

async function restart(name: string): Promise<void> {
  await serviceStart(name);
  killed.delete(name);
}

/** Publishes for a while so the relay is in full flow before the kill. */
async function startTraffic(world: HaWorld): Promise<SteadyPublisher> {
  await world.startGateway();
  const pub = new SteadyPublisher(() => world.url(), world.topic, { workers: 4, intervalMs: 20, keys: 40 });
  pub.start();
  await eventually(
    async () =>
      (await world.json<{ depth: number }>('/v1/outbox')).depth < 50 && pub.stats.acked.length > 100,
    60_000,
    'relay in flow',
  );
  await sleep(2_000);
  return pub;
}

/** Stops the publisher, waits for the outbox to drain, reads the cluster and checks the accounting. */
async function finish(
  world: HaWorld,
  pub: SteadyPublisher,
  scenario: string,
  recovery: Recovery,
  extra = '',
) {
  const stats = await pub.stop();
  await world.waitDrained(180_000);
  const result = account(stats.sent, stats.refused, stats.acked, await world.readAll());
  console.log(
    `${report(scenario, result)} recoveryMs=${recovery.recoveryMs} maxDelayMs=${recovery.maxDelayMs}${extra}`,
  );
  assertSound(stats.errors, result);
  expect(recovery.recoveryMs, 'some message accepted after the kill was delivered').toBeDefined();
  return result;
}

function assertSound(errors: string[], result: Accounting): void {
  expect(errors, 'no publish answered 5xx or failed').toEqual([]);
  expect(result.refused).toBe(0);
  expect(result.lost).toEqual([]);
  expect(result.unexpected).toEqual([]);
  expect(result.reorderedKeys).toEqual([]);
  expect(result.gappedKeys).toEqual([]);
}

describe('chaos --ha: a node dies inside a broker cluster', () => {
  it('kafka: kill -9 of a partition leader; leadership moves, acks=-1 + min ISR 2 lose nothing', async () => {
    const world = new HaWorld('kafka');
    worlds.push(world);
    const { kafkaBrokers } = haStackEnv();
    const pub = await startTraffic(world);

    const durability = await topicDurability(kafkaBrokers, world.topic);
    expect(durability.minInsyncReplicas, 'min.insync.replicas = RF-1 on the created topic').toBe(2);
    expect(durability.setOnTopic, 'set by the adapter, not inherited from the broker').toBe(true);
    expect(durability.replicas.every((n) => n === 3)).toBe(true);

    const leaders = await partitionLeaders(kafkaBrokers, world.topic);
    const victim = leaders.get(0)!;
    const led = new Set([...leaders].filter(([, node]) => node === victim).map(([p]) => p));
    const fromIndex = pub.stats.acked.length;
    const killedAt = await kill(kafkaServiceOf(victim));
    await until(
      async () =>
        [...(await partitionLeaders(kafkaBrokers, world.topic)).values()].every((n) => n !== victim),
      60_000,
      'new leaders elected',
    );
    const electedMs = Date.now() - killedAt;
    await sleep(6_000);
    await restart(kafkaServiceOf(victim));
    await sleep(3_000);

    const recovery = await measureRecovery(world, pub.stats.acked, fromIndex, killedAt, (v) =>
      led.has(v.partition ?? -1),
    );
    await finish(
      world,
      pub,
      'ha-kafka-leader',
      recovery,
      ` killed=kafka-${victim} partitions=${[...led].join(',')} electedMs=${electedMs}`,
    );
  });

  it('rabbitmq: kill -9 of the node the gateway is connected to; reconnects to another, quorum queues keep all', async () => {
    const world = new HaWorld('rabbit');
    worlds.push(world);
    const pub = await startTraffic(world);

    // The adapter dials its URLs in order (adapters/rabbitmq/connection.ts), so it is on rabbitmq-1, where
    // the parking queues it declared also have their quorum leaders (RabbitMQ places the leader locally).
    const fromIndex = pub.stats.acked.length;
    const killedAt = await kill('rabbitmq-1');
    await sleep(8_000);
    await restart('rabbitmq-1');
    await sleep(3_000);

    const recovery = await measureRecovery(world, pub.stats.acked, fromIndex, killedAt);
    await finish(world, pub, 'ha-rabbitmq-node', recovery, ' killed=rabbitmq-1');
  });

  it('redis: kill -9 of the primary; Sentinel promotes a replica, the adapter follows; WAIT 1 loses nothing', async () => {
    const { redisSentinels, redisName } = haStackEnv();
    await until(redisHaTopologyReady, 60_000, 'both redis replicas linked');
    const world = new HaWorld('redis');
    worlds.push(world);
    const pub = await startTraffic(world);

    // After an earlier run any node may be primary: kill whichever Sentinel names.
    const primary = await redisMasterAddress(redisSentinels, redisName);
    const victim = redisServiceOf(primary);
    const fromIndex = pub.stats.acked.length;
    const killedAt = await kill(victim);
    let promoted = primary;
    await until(
      async () => {
        promoted = await redisMasterAddress(redisSentinels, redisName);
        return promoted !== primary;
      },
      60_000,
      'sentinel failover',
    );
    const promotedMs = Date.now() - killedAt;
    await sleep(5_000);
    await restart(victim);
    // Sentinel turns the old primary into a replica of the new one; wait so the next run finds a sound topology.
    await until(redisHaTopologyReady, 60_000, 'old primary linked as a replica');
    await sleep(2_000);

    const recovery = await measureRecovery(world, pub.stats.acked, fromIndex, killedAt);
    await finish(
      world,
      pub,
      'ha-redis-primary',
      recovery,
      ` killed=${victim} promoted=${redisServiceOf(promoted)} promotedMs=${promotedMs}`,
    );
  });
});

interface RouteView {
  routes: { match: string; active: string | null }[];
}

const activeBackend = async (world: HaWorld) => (await world.json<RouteView>('/v1/routes')).routes[0]!.active;

describe('chaos --ha: a whole cluster dies', () => {
  it('all three kafka brokers killed: the route fails over to the rabbitmq cluster, then back', async () => {
    const world = new HaWorld(['kafka', 'rabbit', 'redis']);
    worlds.push(world);
    const pub = await startTraffic(world);
    expect(await activeBackend(world)).toBe('kafka');

    const fromIndex = pub.stats.acked.length;
    for (const n of [1, 2, 3]) killed.add(`kafka-${n}`);
    await Promise.all([1, 2, 3].map((n) => serviceKill(`kafka-${n}`)));
    const killedAt = Date.now();
    await until(async () => (await activeBackend(world)) === 'rabbit', 60_000, 'failover to rabbit');
    await sleep(4_000);

    await stackUp({ ha: true });
    killed.clear();
    const restartedAt = Date.now();
    await until(async () => (await activeBackend(world)) === 'kafka', 90_000, 'failback to kafka');
    const failbackMs = Date.now() - restartedAt;
    await sleep(2_000);

    const recovery = await measureRecovery(world, pub.stats.acked, fromIndex, killedAt);
    const result = await finish(world, pub, 'ha-kafka-cluster-down', recovery, ` failbackMs=${failbackMs}`);
    expect(result.deliveredPerBackend.rabbit).toBeGreaterThan(0);
    expect(result.deliveredPerBackend.redis).toBe(0);
  });
});
