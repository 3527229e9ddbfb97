/**
 * Scenario 9 (issue 8): the outbox drivers side by side. Durable single-message HTTP publish, 50 connections
 * in all, against one gateway on SQLite, one on the Postgres outbox, and three replicas sharing that Postgres
 * (the load split evenly over them, one load process per replica, all at once: bench/lib/keyed-load.ts). Every message has its
 * own key, so the figure is the drivers' and replicas' own, not one hot key's (a hot key is serialised by its
 * per-key order on every driver). Accepted messages/s, accept latency p50/p99; rounds alternate the shapes.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { backendEntry, type StackEnv } from '../lib/brokers.js';
import { type Gateway, startGateway } from '../lib/gateway.js';
import { ROOT, run } from '../lib/proc.js';
import { fmt, ratio, type Spread, spread } from '../lib/stats.js';

const CONNECTIONS = 50;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

/** The keyed load generator (its own process) on one gateway: every message has a fresh key. */
async function load(url: string, connections: number, durationS: number): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench/lib/keyed-load.ts'),
      `${url}/v1/topics/bench.drivers/messages`,
    ].concat([String(connections), String(durationS)]),
    { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as Sample & { non2xx: number };
  if (r.non2xx > 0) throw new Error(`${r.non2xx} answers were not 2xx`);
  return { rps: r.rps, p50: r.p50, p99: r.p99 };
}

/** A fresh database on the stack's PostgreSQL, dropped by the returned function. */
async function freshDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `mqgate_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Runs `replicas` gateways on one outbox and loads them together; rps summed, latencies of the worst. */
async function shape(
  env: StackEnv,
  driver: 'sqlite' | 'postgres',
  replicas: number,
  durationS: number,
): Promise<Sample> {
  const db = driver === 'postgres' ? await freshDatabase(env.MQGATE_POSTGRES_URL!) : undefined;
  const outbox = db ? { outbox: { driver: 'postgres', url: db.url, maxBytes: '4gb', retention: '1h' } } : {};
  const gateways: Gateway[] = [];
  try {
    for (let i = 0; i < replicas; i++) {
      gateways.push(
        await startGateway({ redis: backendEntry('redis', env) }, { logLevel: 'warn', extra: outbox }),
      );
    }
    const per = Math.floor(CONNECTIONS / replicas);
    const samples = await Promise.all(
      gateways.map((g, i) => load(g.url, i === 0 ? CONNECTIONS - per * (replicas - 1) : per, durationS)),
    );
    return {
      rps: samples.reduce((sum, s) => sum + s.rps, 0),
      p50: Math.max(...samples.map((s) => s.p50)),
      p99: Math.max(...samples.map((s) => s.p99)),
    };
  } finally {
    await Promise.all(gateways.map((g) => g.close()));
    await db?.drop();
  }
}

export interface OutboxDriversResult {
  connections: number;
  durationS: number;
  rounds: number;
  sqlite: { rps: Spread; p50: Spread; p99: Spread };
  postgres1: { rps: Spread; p50: Spread; p99: Spread };
  postgres3: { rps: Spread; p50: Spread; p99: Spread };
  /** Postgres (one replica) over SQLite. */
  postgresVsSqlite: number;
  /** Three Postgres replicas over one. */
  scale3: number;
}

export async function outboxDrivers(
  env: StackEnv,
  rounds: number,
  durationS: number,
): Promise<OutboxDriversResult> {
  if (!env.MQGATE_POSTGRES_URL)
    throw new Error('scenario 9 needs the stack PostgreSQL (MQGATE_POSTGRES_URL)');
  const runs: Record<'sqlite' | 'postgres1' | 'postgres3', Sample[]> = {
    sqlite: [],
    postgres1: [],
    postgres3: [],
  };
  for (let round = 0; round < rounds; round++) {
    runs.sqlite.push(await shape(env, 'sqlite', 1, durationS));
    runs.postgres1.push(await shape(env, 'postgres', 1, durationS));
    runs.postgres3.push(await shape(env, 'postgres', 3, durationS));
  }
  const rows = Object.fromEntries(
    Object.entries(runs).map(([k, xs]) => [
      k,
      {
        rps: spread(xs.map((s) => s.rps)),
        p50: spread(xs.map((s) => s.p50)),
        p99: spread(xs.map((s) => s.p99)),
      },
    ]),
  ) as Record<keyof typeof runs, { rps: Spread; p50: Spread; p99: Spread }>;
  const result: OutboxDriversResult = {
    connections: CONNECTIONS,
    durationS,
    rounds,
    ...rows,
    postgresVsSqlite: ratio(rows.postgres1.rps, rows.sqlite.rps),
    scale3: ratio(rows.postgres3.rps, rows.postgres1.rps),
  };
  console.log(
    `scenario 9: outbox drivers, durable publish, ${CONNECTIONS} connections, ${rounds} x ${durationS}s`,
  );
  for (const [name, r] of Object.entries(rows)) {
    console.log(`  ${name.padEnd(10)} msg/s ${fmt(r.rps)}  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms`);
  }
  console.log(`  postgres/sqlite ${result.postgresVsSqlite}x; 3 postgres replicas / 1: ${result.scale3}x`);
  return result;
}
