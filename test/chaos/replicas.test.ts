import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { serviceKill, serviceStart } from '../../scripts/stack/index.js';
import { eventually, type GatewayProcess, startGatewayProcess } from '../helpers/gateway-process.js';
import { createTestDatabase } from '../helpers/postgres-db.js';
import { account, report } from './harness/accounting.js';
import { SteadyPublisher } from './harness/publisher.js';
import { ChaosWorld, sleep } from './harness/scenario.js';

/**
 * Several gateway replicas on one Postgres outbox, clients spreading their requests over them (no load
 * balancer): a replica SIGKILLed while it holds leases, and the database itself SIGKILLed. The same checker as
 * the failover suite: nothing acknowledged lost, per-key seq order with no gap on every backend, and no
 * duplicate beyond what the killed replica held in flight.
 */

const LEASE_MS = 4_000;

class ReplicaWorld extends ChaosWorld {
  readonly gateways: GatewayProcess[] = [];
  readonly alive = new Set<number>();
  #next = 0;

  constructor(readonly dbUrl: string) {
    super({
      outbox: { driver: 'postgres', url: dbUrl, maxBytes: '256mb', retention: '1h' },
      relay: { lease: `${LEASE_MS}ms`, batchSize: 32 },
    });
  }

  async startReplicas(n: number): Promise<void> {
    const results = await Promise.allSettled(
      Array.from({ length: n }, () => startGatewayProcess(this.dir, this.config(), 60_000)),
    );
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      // Leave no replica running behind a failed start.
      await Promise.all(started.map((g) => g.kill('SIGKILL')));
      throw failed.reason;
    }
    for (const g of started) {
      this.alive.add(this.gateways.length);
      this.gateways.push(g);
    }
    this.gateway = started[0];
  }

  /** The next live replica, round robin: what a client spreading requests without a balancer does. */
  override url(): string {
    const live = [...this.alive];
    return this.gateways[live[this.#next++ % live.length]!]!.url;
  }

  override async close(): Promise<void> {
    await Promise.all(this.gateways.map((g) => g.kill('SIGTERM')));
    this.gateway = undefined;
    await super.close();
  }
}

/** Ids leased by the relay of process `pid` and not settled yet (its owner name holds the pid). */
async function leasedBy(db: pg.Client, pid: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM mqgate_messages WHERE state = 'delivering' AND lease_owner LIKE '%-' || $1 || '-%'`,
    [String(pid)],
  );
  return rows.map((r) => r.id);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await serviceStart('postgres');
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(): Promise<{ world: ReplicaWorld; db: pg.Client }> {
  const database = await createTestDatabase();
  const world = new ReplicaWorld(database.url);
  const db = new pg.Client({ connectionString: database.url });
  db.on('error', () => {}); // the database is killed on purpose
  await db.connect();
  cleanups.push(async () => {
    await world.close();
    await db.end().catch(() => {});
    await database.drop();
  });
  await world.startReplicas(3);
  return { world, db };
}

describe('chaos: gateway replicas on one Postgres outbox', () => {
  it('a replica SIGKILLed while it holds leases: the others take its messages over, nothing lost or reordered', async () => {
    const { world, db } = await setup();
    const pub = new SteadyPublisher(() => world.url(), world.topic, {
      workers: 6,
      intervalMs: 5,
      keys: 30,
      tolerateDown: true,
    });
    pub.start();
    await sleep(4_000);

    // Freeze the victim until it is caught holding leases, then kill it: mid-relay by construction.
    const victim = world.gateways[2]!;
    const pid = victim.child.pid!;
    let held: string[] = [];
    for (let i = 0; i < 100 && held.length === 0; i++) {
      process.kill(pid, 'SIGSTOP');
      held = await leasedBy(db, pid);
      if (held.length === 0) {
        process.kill(pid, 'SIGCONT');
        await sleep(20);
      }
    }
    world.alive.delete(2);
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    expect(held.length).toBeGreaterThan(0);

    await eventually(async () => (await leasedBy(db, pid)).length === 0, 60_000, 'takeover of the leases');
    const takeoverMs = Date.now() - killedAt;
    await sleep(2_000);
    const stats = await pub.stop();
    await world.waitDrained();
    const a = account(stats.sent, stats.refused, stats.acked, await world.readAll());
    console.log(
      `${report('replica-kill', a)} in-flight-at-kill=${held.length} takeover=${takeoverMs}ms ` +
        `(lease ${LEASE_MS}ms) unanswered=${stats.unanswered.length}`,
    );

    expect(stats.errors).toEqual([]);
    expect(a.lost).toEqual([]);
    expect(a.reorderedKeys).toEqual([]);
    expect(a.gappedKeys).toEqual([]);
    // Only what the killed replica held may have reached a broker twice (sent by it, then by the taker).
    expect(a.duplicated).toBeLessThanOrEqual(held.length);
    // A request the victim never answered may or may not have been stored; nothing else may appear.
    expect(a.unexpected.every((id) => stats.unanswered.includes(id))).toBe(true);
    expect(takeoverMs).toBeLessThan(LEASE_MS + 20_000);
  });

  it('the database SIGKILLed mid-stream: publishes answer 503 while it is down, every acknowledged message is delivered', async () => {
    const { world } = await setup();
    const pub = new SteadyPublisher(() => world.url(), world.topic, {
      workers: 6,
      intervalMs: 10,
      keys: 30,
      tolerateDown: true,
    });
    pub.start();
    await sleep(3_000);
    const ackedBefore = pub.stats.acked.length;
    await serviceKill('postgres');
    await sleep(2_000);
    await serviceStart('postgres');
    await sleep(4_000);
    const stats = await pub.stop();
    await world.waitDrained();
    const a = account(stats.sent, stats.refused, stats.acked, await world.readAll());
    console.log(
      `${report('postgres-kill', a)} acked-before-kill=${ackedBefore} unanswered=${stats.unanswered.length}`,
    );

    expect(stats.errors).toEqual([]);
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.acked.length).toBeGreaterThan(ackedBefore);
    expect(a.lost).toEqual([]);
    expect(a.reorderedKeys).toEqual([]);
    expect(a.gappedKeys).toEqual([]);
  });
});
