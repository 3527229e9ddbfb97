/**
 * Scenario 3: latency at a fixed rate (open loop, bench/load/fixed-rate.ts in its own process).
 *
 * - Accept latency: the gateway's durable `POST /v1/topics/{t}/messages` (Redis backend relaying meanwhile,
 *   as in scenario 1, log level warn) against the bare Fastify route, both at `RATE` req/s; what the gateway
 *   adds is its p50 and p99 minus the bare route's, from the same round. Dapr's published figure for its
 *   sidecar, with no durable outbox, is 0.35-0.6 ms p50 and 1.2-1.9 ms p99 added.
 * - End to end, per backend: the same load through a gateway with only that backend, the SDK `Consumer`
 *   (dedup on) in this process; latency from a message's scheduled send time (carried in its body) to its
 *   handler call, p50 and p99.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackendName, backendEntry, benchTopic, configFor, type StackEnv } from '../lib/brokers.js';
import { startGateway } from '../lib/gateway.js';
import { run, startServer, stopServer, until } from '../lib/proc.js';
import { fmt, type Spread, spread } from '../lib/stats.js';
import { primeSdk, sdkConsumer } from './consume.js';

export const RATE = 1_000;
const WARMUP_S = 1;

/** What bench/load/fixed-rate.ts prints, ms. */
interface LoadSummary {
  sent: number;
  counted: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  sentP50: number;
  sentP99: number;
  maxLagMs: number;
}

export interface LatencyResult {
  rate: number;
  seconds: number;
  rounds: number;
  accept: {
    bare: { p50: Spread; p99: Spread };
    gateway: { p50: Spread; p99: Spread };
    /** Gateway minus bare, per round, ms. */
    added: { p50: Spread; p99: Spread };
    /** The generator's worst lag behind its schedule, ms (the machine's own stalls). */
    maxLagMs: Spread;
  };
  endToEnd: Record<string, { p50: Spread; p99: Spread; messages: number }>;
}

async function load(url: string, seconds: number, stamp = false): Promise<LoadSummary> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/load/fixed-rate.ts',
      url,
      String(RATE),
      String(seconds),
      String(WARMUP_S),
      ...(stamp ? ['--stamp'] : []),
    ],
    { maxBuffer: 1024 * 1024, timeout: (seconds + WARMUP_S + 120) * 1000 },
  );
  const s = JSON.parse(stdout) as LoadSummary;
  if (s.non2xx > 0 || s.errors > 0)
    throw new Error(`fixed-rate load: ${s.non2xx} non-2xx, ${s.errors} errors`);
  return s;
}

const PATH = '/v1/topics/bench.latency/messages';

async function acceptRound(
  env: StackEnv,
  seconds: number,
): Promise<{ bare: LoadSummary; gateway: LoadSummary }> {
  const b = await startServer(['bench/servers/bare.ts'], {});
  let bare: LoadSummary;
  try {
    bare = await load(`${b.url}${PATH}`, seconds);
  } finally {
    await stopServer(b, 'SIGKILL');
  }
  const g = await startGateway({ redis: backendEntry('redis', env) }, { logLevel: 'warn' });
  try {
    return { bare, gateway: await load(`${g.url}${PATH}`, seconds) };
  } finally {
    await g.close();
  }
}

/** Percentile of sorted ms values, rounded to µs. */
function pct(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] ?? Number.NaN) * 1000) / 1000;
}

async function endToEndRound(
  name: BackendName,
  env: StackEnv,
  seconds: number,
): Promise<{ p50: number; p99: number; messages: number }> {
  const topic = benchTopic('latency');
  const exchange = `bench-${topic}`;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-e2e-'));
  const config = configFor(name, env, dir, exchange);
  const group = `bench-e2e-${topic}`;
  const g = await startGateway({ [name]: backendEntry(name, env, exchange) }, { logLevel: 'warn' });
  const consumer = sdkConsumer(config, group, topic);
  try {
    await primeSdk(config, group, topic); // the group's queues and streams exist before the first publish
    const latencies: number[] = [];
    const orders = new Set<number>();
    const skip = RATE * WARMUP_S;
    await consumer.run(async (msg) => {
      const now = performance.timeOrigin + performance.now();
      const data = msg.data as { order: number; sentAt: number };
      if (orders.has(data.order)) return;
      orders.add(data.order);
      if (data.order >= skip) latencies.push(now - data.sentAt);
    });
    const sent = await load(`${g.url}/v1/topics/${topic}/messages`, seconds, true);
    await until(() => orders.size >= sent.sent, 120_000, `${name}: all ${sent.sent} messages handled`, 50);
    latencies.sort((a, b) => a - b);
    return { p50: pct(latencies, 50), p99: pct(latencies, 99), messages: latencies.length };
  } finally {
    await consumer.close({ timeoutMs: 10_000 });
    await g.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs scenario 3: accept latency (bare and gateway alternating), then end to end per backend. */
export async function latency(
  env: StackEnv,
  backends: readonly BackendName[],
  rounds: number,
  seconds: number,
): Promise<LatencyResult> {
  console.log(
    `scenario 3: latency at ${RATE} req/s (open loop), ${rounds} x ${seconds}s after ${WARMUP_S}s warm-up`,
  );
  const bare: LoadSummary[] = [];
  const gateway: LoadSummary[] = [];
  for (let r = 0; r < rounds; r++) {
    const round = await acceptRound(env, seconds);
    bare.push(round.bare);
    gateway.push(round.gateway);
  }
  const of = (xs: LoadSummary[], k: 'p50' | 'p99') => spread(xs.map((x) => x[k]));
  const added = (k: 'p50' | 'p99') => spread(gateway.map((x, i) => x[k] - (bare[i] as LoadSummary)[k]));
  const accept = {
    bare: { p50: of(bare, 'p50'), p99: of(bare, 'p99') },
    gateway: { p50: of(gateway, 'p50'), p99: of(gateway, 'p99') },
    added: { p50: added('p50'), p99: added('p99') },
    maxLagMs: spread([...bare, ...gateway].map((x) => x.maxLagMs)),
  };
  console.log(`  accept, bare route   p50 ${fmt(accept.bare.p50)} ms  p99 ${fmt(accept.bare.p99)} ms`);
  console.log(`  accept, mqgate       p50 ${fmt(accept.gateway.p50)} ms  p99 ${fmt(accept.gateway.p99)} ms`);
  console.log(
    `  added by mqgate      p50 ${fmt(accept.added.p50)} ms  p99 ${fmt(accept.added.p99)} ms (Dapr sidecar: 0.35-0.6 / 1.2-1.9 ms); generator lag up to ${accept.maxLagMs.max} ms`,
  );
  const endToEnd: LatencyResult['endToEnd'] = {};
  for (const name of backends) {
    const rs: { p50: number; p99: number; messages: number }[] = [];
    for (let r = 0; r < rounds; r++) rs.push(await endToEndRound(name, env, seconds));
    endToEnd[name] = {
      p50: spread(rs.map((x) => x.p50)),
      p99: spread(rs.map((x) => x.p99)),
      messages: rs[0]?.messages ?? 0,
    };
    console.log(
      `  end to end, ${name.padEnd(8)} p50 ${fmt(endToEnd[name].p50)} ms  p99 ${fmt(endToEnd[name].p99)} ms`,
    );
  }
  return { rate: RATE, seconds, rounds, accept, endToEnd };
}
