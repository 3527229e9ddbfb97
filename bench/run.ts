/**
 * `npm run bench [-- --quick] [--only=1,3,7] [--backends=kafka,redis] [--out=file.json]`: every claim is a
 * ratio measured in the same run on this shared machine (issue 6). Joins the local stack or starts it (and
 * then stops it), runs each scenario (bench/scenarios/: 1 to 7 from issue 6, 9 the outbox drivers from issue 8; 8 is not run), prints median (min-max) over the rounds
 * and the seconds each scenario took, and writes bench/results/<date>[-quick].json (or `--out`). Load
 * generators and the gateway run in their own processes; the direct-client baselines and the SDK consumers
 * run in this one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackAcquire, stackRelease } from '../scripts/stack/index.js';
import { BACKENDS, type BackendName } from './lib/brokers.js';
import { load, machine, writeResults } from './lib/results.js';
import { backlogMemory } from './scenarios/backlog-memory.js';
import { batchPublish } from './scenarios/batch-publish.js';
import { consume } from './scenarios/consume.js';
import { failover } from './scenarios/failover.js';
import { httpPublish } from './scenarios/http-publish.js';
import { kafkaClients } from './scenarios/kafka-clients.js';
import { latency } from './scenarios/latency.js';
import { outboxDrivers } from './scenarios/outbox-drivers.js';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const wants = (n: string) => !only || only.includes(n);
/** `--backends=kafka,redis`: scenarios 2 and 4 on these backends only. */
const backends = (process.argv
  .find((a) => a.startsWith('--backends='))
  ?.slice(11)
  .split(',') ?? [...BACKENDS]) as BackendName[];
for (const b of backends) {
  if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`--backends: unknown backend ${b}`);
}

/**
 * Rounds and sizes. The quick run is a smoke run for CI: under 2 minutes wall time including the stack's
 * start and stop, so every figure in it rests on one short round.
 */
const PLAN = quick
  ? {
      rounds: 1,
      httpS: 2,
      batchMessages: 1_000,
      consumeMessages: 2_000,
      failoverRounds: 1,
      steadyMs: 1_000,
      backlog: 20_000,
      clientMessages: 2_000,
      latencyS: 1,
      latencyWarmupS: 0.5,
      driversS: 2,
    }
  : {
      rounds: 3,
      httpS: 15,
      batchMessages: 20_000,
      consumeMessages: 50_000,
      failoverRounds: 3,
      steadyMs: 3_000,
      backlog: 1_000_000,
      clientMessages: 50_000,
      latencyS: 10,
      latencyWarmupS: 1,
      driversS: 10,
    };

let released: Promise<string> | undefined;
/** Leaves the stack (stopping it when this run started it); once, whether from the end of the run or a signal. */
function releaseStack(): Promise<string> {
  released ??= stackRelease();
  return released;
}

// CI bounds the run with `timeout`, which signals the whole process group: the servers started here exit
// on their own SIGTERM; the stack's brokers run in groups of their own, so stop them before leaving.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping`);
    releaseStack().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = load();
  // Joins the stack that runs, or starts one and stops it at the end (as a test run does: CI runs this right
  // after `npm test`, whose stack is down by then).
  const env = (await stackAcquire()) as unknown as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
  const scenarios: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  const steps: [string, string, () => Promise<unknown>][] = [
    ['1', 'httpPublish', () => httpPublish(env, PLAN.rounds, PLAN.httpS)],
    ['2', 'batchPublish', () => batchPublish(env, backends, PLAN.rounds, PLAN.batchMessages, dir)],
    ['3', 'latency', () => latency(env, backends, PLAN.rounds, PLAN.latencyS, PLAN.latencyWarmupS)],
    ['4', 'consume', () => consume(env, backends, PLAN.rounds, PLAN.consumeMessages, dir)],
    ['5', 'failover', () => failover(env, PLAN.failoverRounds, PLAN.steadyMs)],
    ['6', 'backlogMemory', () => backlogMemory(PLAN.backlog)],
    ['7', 'kafkaClients', () => kafkaClients(env, PLAN.rounds, PLAN.clientMessages)],
    ['9', 'outboxDrivers', () => outboxDrivers(env, PLAN.rounds, PLAN.driversS)],
  ];
  try {
    for (const [n, name, step] of steps) {
      if (!wants(n)) continue;
      const t0 = performance.now();
      scenarios[name] = await step();
      seconds[name] = Math.round((performance.now() - t0) / 100) / 10;
      console.log(`  (scenario ${n}: ${seconds[name]} s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    console.log(`stack ${await releaseStack()}`);
  }
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    machine: machine(),
    loadAverage: { start: loadStart, end: load() },
    seconds: Math.round((Date.now() - started) / 1000),
    scenarioSeconds: seconds,
    plan: PLAN,
    scenarios,
  };
  const file = writeResults(result, quick, process.argv.find((a) => a.startsWith('--out='))?.slice(6));
  console.log(
    `load average ${loadStart.join(' ')} -> ${result.loadAverage.end.join(' ')}; ${result.seconds}s; ${file}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
