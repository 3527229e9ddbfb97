/**
 * `npm run bench [-- --quick] [-- --only=1,2,4,5,6]`: every claim is a ratio measured in the same run on
 * this shared machine (issue 6). Starts the local stack, runs each scenario (bench/scenarios/), prints
 * median (min-max) over the rounds and writes bench/results/<date>[-quick].json. Load generators and the
 * gateway run in their own processes; the direct-client baselines run in this one.
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

/** Rounds and sizes: the quick run must stay under 2 minutes with the stack already up. */
const PLAN = quick
  ? {
      rounds: 1,
      httpS: 3,
      batchMessages: 2_000,
      consumeMessages: 2_000,
      failoverRounds: 1,
      steadyMs: 1_000,
      backlog: 50_000,
      clientMessages: 5_000,
      latencyS: 3,
    }
  : {
      rounds: 3,
      httpS: 15,
      batchMessages: 20_000,
      consumeMessages: 10_000,
      failoverRounds: 3,
      steadyMs: 3_000,
      backlog: 1_000_000,
      clientMessages: 50_000,
      latencyS: 10,
    };

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = load();
  // Joins the stack that runs, or starts one and stops it at the end (as a test run does: CI runs this right
  // after `npm test`, whose stack is down by then).
  const env = (await stackAcquire()) as unknown as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
  const scenarios: Record<string, unknown> = {};
  try {
    if (wants('1')) scenarios.httpPublish = await httpPublish(env, PLAN.rounds, PLAN.httpS);
    if (wants('2'))
      scenarios.batchPublish = await batchPublish(env, backends, PLAN.rounds, PLAN.batchMessages, dir);
    if (wants('3')) scenarios.latency = await latency(env, backends, PLAN.rounds, PLAN.latencyS);
    if (wants('4')) scenarios.consume = await consume(env, backends, PLAN.rounds, PLAN.consumeMessages, dir);
    if (wants('5')) scenarios.failover = await failover(env, PLAN.failoverRounds, PLAN.steadyMs);
    if (wants('6')) scenarios.backlogMemory = await backlogMemory(PLAN.backlog);
    if (wants('7')) scenarios.kafkaClients = await kafkaClients(env, PLAN.rounds, PLAN.clientMessages);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const stack = await stackRelease();
    console.log(`stack ${stack}`);
  }
  const result = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    machine: machine(),
    loadAverage: { start: loadStart, end: load() },
    seconds: Math.round((Date.now() - started) / 1000),
    plan: PLAN,
    scenarios,
  };
  const file = writeResults(result, quick);
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
