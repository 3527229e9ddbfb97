/**
 * `npx tsx bench/profile.ts [seconds]`: the gateway under scenario 1's load (50 connections, single-message
 * durable publish) with `node --cpu-prof`, then the top self-time functions of its main thread. Prints a
 * table; the .cpuprofile stays in the temp dir it names (open it in Chrome DevTools for the flame chart).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackAcquire, stackRelease } from '../scripts/stack/index.js';
import { backendEntry } from './lib/brokers.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { startGateway } from './lib/gateway.js';
import { autocannon } from './scenarios/http-publish.js';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 15);
  const env = (await stackAcquire()) as unknown as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-prof-'));
  const g = await startGateway(
    { redis: backendEntry('redis', env) },
    { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
  );
  let sample: Awaited<ReturnType<typeof autocannon>>;
  try {
    sample = await autocannon(g.url, g.child.pid!, seconds);
  } finally {
    await g.close();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the gateway exit cleanly?`);
  console.log(
    `gateway under load: ${sample.rps} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms; ${join(dir, file)}`,
  );
  for (const { fn, pct } of topSelfTime(JSON.parse(readFileSync(join(dir, file), 'utf8')))) {
    console.log(`${String(pct).padStart(5)}%  ${fn}`);
  }
}

// Joins the stack that runs, or starts it and stops it afterwards (as bench/run.ts does).
main()
  .finally(() => stackRelease())
  .then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
