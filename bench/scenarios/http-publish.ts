/**
 * Scenario 1: single-message HTTP publish at 50 connections, the gateway's durable
 * `POST /v1/topics/{t}/messages` against a bare Fastify route (bench/servers/bare.ts) under the same
 * autocannon load (its own process). req/s, accept latency p50/p99, the gateway's peak RSS, and each
 * server's CPU time per request and share of one core (from /proc/<pid>/stat, all threads): a server below
 * one core is waiting (on the load generator, the disk, a broker), not computing.
 */
import { readFileSync } from 'node:fs';
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
  /** CPU time (user + system, every thread) per answered request, in microseconds; 0 where unreadable. */
  cpuUsPerReq: number;
  /** CPU time over wall time: 1 is one core busy all along. */
  cpuShare: number;
}

/** User + system CPU time of `pid` in ms, every thread; undefined where /proc is not available. */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Runs autocannon (its own process) against `url` for `durationS`, sampling `pid`'s RSS. */
export async function autocannon(url: string, pid: number, durationS: number): Promise<Sample> {
  const body = JSON.stringify({ key: 'k', data: { order: 42, items: ['a', 'b'] } });
  const rss = rssSampler(pid);
  const cpuBefore = cpuMs(pid);
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
  const cpuAfter = cpuMs(pid);
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
  };
  if (r.non2xx > 0) throw new Error(`${r.non2xx} answers were not 2xx`);
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? 0 : cpuAfter - cpuBefore;
  const requests = r.requests.average * durationS;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    rssMb,
    cpuUsPerReq: requests > 0 ? Math.round((cpu * 1000) / requests) : 0,
    cpuShare: Math.round((cpu / (durationS * 1000)) * 100) / 100,
  };
}

/** Scenario 1's figures. */
export interface HttpPublishResult {
  connections: number;
  durationS: number;
  rounds: number;
  bare: { rps: Spread; p50: Spread; p99: Spread; cpuUsPerReq: Spread; cpuShare: Spread };
  gateway: {
    rps: Spread;
    p50: Spread;
    p99: Spread;
    rssMb: Spread;
    cpuUsPerReq: Spread;
    cpuShare: Spread;
  };
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
    bare: {
      rps: pick(bare, 'rps'),
      p50: pick(bare, 'p50'),
      p99: pick(bare, 'p99'),
      cpuUsPerReq: pick(bare, 'cpuUsPerReq'),
      cpuShare: pick(bare, 'cpuShare'),
    },
    gateway: {
      rps: pick(gateway, 'rps'),
      p50: pick(gateway, 'p50'),
      p99: pick(gateway, 'p99'),
      rssMb: pick(gateway, 'rssMb'),
      cpuUsPerReq: pick(gateway, 'cpuUsPerReq'),
      cpuShare: pick(gateway, 'cpuShare'),
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
    `  bare fastify   req/s ${fmt(rows.bare.rps)}  p50 ${fmt(rows.bare.p50)} ms  p99 ${fmt(rows.bare.p99)} ms  CPU ${fmt(rows.bare.cpuUsPerReq)} us/req, ${fmt(rows.bare.cpuShare)} core`,
  );
  console.log(
    `  mqgate durable req/s ${fmt(rows.gateway.rps)}  p50 ${fmt(rows.gateway.p50)} ms  p99 ${fmt(rows.gateway.p99)} ms  RSS ${fmt(rows.gateway.rssMb)} MB  CPU ${fmt(rows.gateway.cpuUsPerReq)} us/req, ${fmt(rows.gateway.cpuShare)} core`,
  );
  console.log(`  ratio ${result.ratio}x (target 0.8x)`);
  return result;
}
