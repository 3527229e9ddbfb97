/**
 * Scenario 3: latency at a fixed rate (open loop, bench/load/fixed-rate.ts in its own process).
 *
 * One gateway per round (log level warn, fresh SQLite outbox) with the three backends, a route per topic
 * prefix sending each end-to-end topic to one backend, and everything else to Redis.
 * - Accept latency: the gateway's durable `POST /v1/topics/{t}/messages` (relayed to Redis, as in scenario
 *   1) against the bare Fastify route, both at `RATE` req/s; what the gateway adds is its p50 and p99 minus
 *   the bare route's, from the same round. Dapr's published figure for its sidecar, with no durable outbox,
 *   is 0.35-0.6 ms p50 and 1.2-1.9 ms p99 added. Percentiles run from each request's scheduled send time
 *   (open loop); `sent*` from the moment it was written to the socket, which leaves out the generator's own
 *   stalls.
 * - End to end, per backend: the same load to a topic routed to that backend, the SDK `Consumer` (dedup on)
 *   in this process; latency from a message's scheduled send time (carried in its body, wall clock) to its
 *   handler call, p50 and p99.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackendName, backendEntry, benchTopic, configFor, type StackEnv } from '../lib/brokers.js';
import { type Gateway, startGateway } from '../lib/gateway.js';
import { run, startServer, stopServer, until } from '../lib/proc.js';
import { fmt, type Spread, spread } from '../lib/stats.js';
import { primeSdk, sdkConsumer } from './consume.js';

export const RATE = 1_000;

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

/** ms, over the rounds: from the scheduled send time, and from the socket write. */
interface Percentiles {
  p50: Spread;
  p99: Spread;
  sentP50: Spread;
  sentP99: Spread;
}

export interface LatencyResult {
  rate: number;
  seconds: number;
  /** Sent before `seconds` and not counted. */
  warmupS: number;
  rounds: number;
  accept: {
    bare: Percentiles;
    gateway: Percentiles;
    /** Gateway minus bare, per round, ms. */
    added: Percentiles;
    /** The generator's worst lag behind its schedule, ms (the machine's own stalls). */
    maxLagMs: Spread;
  };
  endToEnd: Record<string, { p50: Spread; p99: Spread; messages: number }>;
}

async function load(url: string, seconds: number, warmupS: number, stamp = false): Promise<LoadSummary> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/load/fixed-rate.ts',
      url,
      String(RATE),
      String(seconds),
      String(warmupS),
      ...(stamp ? ['--stamp'] : []),
    ],
    { maxBuffer: 1024 * 1024, timeout: (seconds + warmupS + 120) * 1000 },
  );
  const s = JSON.parse(stdout) as LoadSummary;
  if (s.non2xx > 0 || s.errors > 0)
    throw new Error(`fixed-rate load: ${s.non2xx} non-2xx, ${s.errors} errors`);
  return s;
}

const PATH = '/v1/topics/bench.latency/messages';

async function bareRound(seconds: number, warmupS: number): Promise<LoadSummary> {
  const b = await startServer(['bench/servers/bare.ts'], {});
  try {
    return await load(`${b.url}${PATH}`, seconds, warmupS);
  } finally {
    await stopServer(b, 'SIGKILL');
  }
}

/** The topic prefix routed to one backend. */
const e2ePrefix = (name: BackendName) => `bench-e2e-${name}-`;

function startLatencyGateway(
  env: StackEnv,
  backends: readonly BackendName[],
  exchange: string,
): Promise<Gateway> {
  const entries = Object.fromEntries(
    [...new Set<BackendName>([...backends, 'redis'])].map((n) => [n, backendEntry(n, env, exchange)]),
  );
  return startGateway(entries, {
    logLevel: 'warn',
    extra: {
      routes: [
        ...backends.map((n) => ({ match: `${e2ePrefix(n)}*`, backends: [n], mode: 'failover' })),
        { match: '*', backends: ['redis'], mode: 'failover' },
      ],
    },
  });
}

/** Percentile of sorted ms values, rounded to µs. */
function pct(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[i] ?? Number.NaN) * 1000) / 1000;
}

async function endToEndRound(
  g: Gateway,
  name: BackendName,
  env: StackEnv,
  exchange: string,
  seconds: number,
  warmupS: number,
): Promise<{ p50: number; p99: number; messages: number }> {
  const topic = `${e2ePrefix(name)}${benchTopic('latency')}`;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-e2e-'));
  const config = configFor(name, env, dir, exchange);
  const group = `bench-e2e-${topic}`;
  const consumer = sdkConsumer(config, group, topic);
  try {
    await primeSdk(config, group, topic); // the group's queues and streams exist before the first publish
    const latencies: number[] = [];
    const orders = new Set<number>();
    const skip = RATE * warmupS;
    await consumer.run(async (msg) => {
      const now = performance.timeOrigin + performance.now();
      const data = msg.data as { order: number; sentAt: number };
      if (orders.has(data.order)) return;
      orders.add(data.order);
      if (data.order >= skip) latencies.push(now - data.sentAt);
    });
    const sent = await load(`${g.url}/v1/topics/${topic}/messages`, seconds, warmupS, true);
    await until(() => orders.size >= sent.sent, 120_000, `${name}: all ${sent.sent} messages handled`, 50);
    latencies.sort((a, b) => a - b);
    return { p50: pct(latencies, 50), p99: pct(latencies, 99), messages: latencies.length };
  } finally {
    await consumer.close({ timeoutMs: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs scenario 3: per round the bare route, then one gateway for the accept latency and each backend. */
export async function latency(
  env: StackEnv,
  backends: readonly BackendName[],
  rounds: number,
  seconds: number,
  warmupS: number,
): Promise<LatencyResult> {
  console.log(
    `scenario 3: latency at ${RATE} req/s (open loop), ${rounds} x ${seconds}s after ${warmupS}s warm-up`,
  );
  const bare: LoadSummary[] = [];
  const gateway: LoadSummary[] = [];
  const e2e = new Map<BackendName, { p50: number; p99: number; messages: number }[]>();
  for (let r = 0; r < rounds; r++) {
    bare.push(await bareRound(seconds, warmupS));
    const exchange = `bench-${benchTopic('latency')}`;
    const g = await startLatencyGateway(env, backends, exchange);
    try {
      gateway.push(await load(`${g.url}${PATH}`, seconds, warmupS));
      for (const name of backends) {
        e2e.set(name, [
          ...(e2e.get(name) ?? []),
          await endToEndRound(g, name, env, exchange, seconds, warmupS),
        ]);
      }
    } finally {
      await g.close();
    }
  }
  const of = (xs: LoadSummary[], k: 'p50' | 'p99' | 'sentP50' | 'sentP99') => spread(xs.map((x) => x[k]));
  const added = (k: 'p50' | 'p99' | 'sentP50' | 'sentP99') =>
    spread(gateway.map((x, i) => x[k] - (bare[i] as LoadSummary)[k]));
  const accept = {
    bare: {
      p50: of(bare, 'p50'),
      p99: of(bare, 'p99'),
      sentP50: of(bare, 'sentP50'),
      sentP99: of(bare, 'sentP99'),
    },
    gateway: {
      p50: of(gateway, 'p50'),
      p99: of(gateway, 'p99'),
      sentP50: of(gateway, 'sentP50'),
      sentP99: of(gateway, 'sentP99'),
    },
    added: { p50: added('p50'), p99: added('p99'), sentP50: added('sentP50'), sentP99: added('sentP99') },
    maxLagMs: spread([...bare, ...gateway].map((x) => x.maxLagMs)),
  };
  console.log(
    `  accept, bare route   p50 ${fmt(accept.bare.p50)} ms  p99 ${fmt(accept.bare.p99)} ms  (from the socket write: ${fmt(accept.bare.sentP50)} / ${fmt(accept.bare.sentP99)})`,
  );
  console.log(
    `  accept, mqgate       p50 ${fmt(accept.gateway.p50)} ms  p99 ${fmt(accept.gateway.p99)} ms  (from the socket write: ${fmt(accept.gateway.sentP50)} / ${fmt(accept.gateway.sentP99)})`,
  );
  console.log(
    `  added by mqgate      p50 ${fmt(accept.added.p50)} ms  p99 ${fmt(accept.added.p99)} ms (Dapr sidecar: 0.35-0.6 / 1.2-1.9 ms); generator lag up to ${accept.maxLagMs.max} ms`,
  );
  const endToEnd: LatencyResult['endToEnd'] = {};
  for (const [name, rs] of e2e) {
    endToEnd[name] = {
      p50: spread(rs.map((x) => x.p50)),
      p99: spread(rs.map((x) => x.p99)),
      messages: rs[0]?.messages ?? 0,
    };
    console.log(
      `  end to end, ${name.padEnd(8)} p50 ${fmt(endToEnd[name].p50)} ms  p99 ${fmt(endToEnd[name].p99)} ms`,
    );
  }
  return { rate: RATE, seconds, warmupS, rounds, accept, endToEnd };
}
