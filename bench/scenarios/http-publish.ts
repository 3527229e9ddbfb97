/**
 * Scenario 1: single-message HTTP publish at 50 connections, the gateway's durable
 * `POST /v1/topics/{t}/messages` against a bare Fastify route (bench/servers/bare.ts) under the same
 * autocannon load (its own process). req/s, accept latency p50/p99, the gateway's peak RSS.
 */
import { join } from 'node:path';
import { backendEntry, type StackEnv } from '../lib/brokers.js';
import { startGateway } from '../lib/gateway.js';
import { ROOT, rssSampler, run, startServer, stopServer } from '../lib/proc.js';
import { fmt, ratio, type Spread, spread } from '../lib/stats.js';

export const CONNECTIONS = 50;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  rssMb: number;
}

/** Runs autocannon (its own process) against `url` for `durationS`, sampling `pid`'s RSS. */
export async function autocannon(url: string, pid: number, durationS: number): Promise<Sample> {
  const body = JSON.stringify({ key: 'k', data: { order: 42, items: ['a', 'b'] } });
  const rss = rssSampler(pid);
  const { stdout } = await run(
    join(ROOT, 'node_modules/.bin/autocannon'),
    [
      '-j',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(durationS),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
    ].concat(['-b', body, `${url}/v1/topics/bench.orders/messages`]),
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const rssMb = rss.stop();
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  };
  if (r.non2xx > 0) throw new Error(`${r.non2xx} answers were not 2xx`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, rssMb };
}

/** Scenario 1's figures. */
export interface HttpPublishResult {
  connections: number;
  durationS: number;
  rounds: number;
  bare: { rps: Spread; p50: Spread; p99: Spread };
  gateway: { rps: Spread; p50: Spread; p99: Spread; rssMb: Spread };
  ratio: number;
}

/** Alternates bare and gateway rounds so that drift on the shared machine hits both alike. */
export async function httpPublish(
  env: StackEnv,
  rounds: number,
  durationS: number,
): Promise<HttpPublishResult> {
  const bare: Sample[] = [];
  const gateway: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    const b = await startServer(['bench/servers/bare.ts'], {});
    try {
      bare.push(await autocannon(b.url, b.child.pid!, durationS));
    } finally {
      await stopServer(b, 'SIGKILL');
    }
    const g = await startGateway({ redis: backendEntry('redis', env) });
    try {
      gateway.push(await autocannon(g.url, g.child.pid!, durationS));
    } finally {
      await g.close();
    }
  }
  const pick = (xs: Sample[], k: keyof Sample) => spread(xs.map((s) => s[k]));
  const rows = {
    bare: { rps: pick(bare, 'rps'), p50: pick(bare, 'p50'), p99: pick(bare, 'p99') },
    gateway: {
      rps: pick(gateway, 'rps'),
      p50: pick(gateway, 'p50'),
      p99: pick(gateway, 'p99'),
      rssMb: pick(gateway, 'rssMb'),
    },
  };
  const result = {
    connections: CONNECTIONS,
    durationS,
    rounds,
    ...rows,
    ratio: ratio(rows.gateway.rps, rows.bare.rps),
  };
  console.log(`scenario 1: single-message publish, ${CONNECTIONS} connections, ${rounds} x ${durationS}s`);
  console.log(
    `  bare fastify   req/s ${fmt(rows.bare.rps)}  p50 ${fmt(rows.bare.p50)} ms  p99 ${fmt(rows.bare.p99)} ms`,
  );
  console.log(
    `  mqgate durable req/s ${fmt(rows.gateway.rps)}  p50 ${fmt(rows.gateway.p50)} ms  p99 ${fmt(rows.gateway.p99)} ms  RSS ${fmt(rows.gateway.rssMb)} MB`,
  );
  console.log(`  ratio ${result.ratio}x (target 0.8x)`);
  return result;
}
