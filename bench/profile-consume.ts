/**
 * `npx tsx bench/profile-consume.ts [kafka|rabbitmq|redis] [messages]`: scenario 4's SDK consumer (dedup on)
 * reading `messages` (default 50,000) already published messages, profiled with the inspector's CPU profiler
 * from the first message handled to the last (the group join and the publish are left out). Prints msg/s and
 * the top self-time functions; the .cpuprofile is written to the temp dir it names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackAcquire, stackRelease } from '../scripts/stack/index.js';
import {
  BACKENDS,
  type BackendName,
  benchTopic,
  configFor,
  connectedAdapter,
  envelopes,
  pool,
} from './lib/brokers.js';
import { type ProfileNode, topSelfTime } from './lib/cpu-profile.js';
import { primeSdk, sdkConsumer } from './scenarios/consume.js';

async function main(): Promise<void> {
  const name = (process.argv[2] ?? 'kafka') as BackendName;
  if (!BACKENDS.includes(name)) throw new Error(`unknown backend ${name}: one of ${BACKENDS.join(', ')}`);
  const n = Number(process.argv[3] ?? 50_000);
  const env = (await stackAcquire()) as unknown as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'mqgate-prof-consume-'));
  const scratch = mkdtempSync(join(tmpdir(), 'mqgate-prof-scratch-'));
  try {
    const topic = benchTopic('profile-consume');
    const config = configFor(name, env, scratch, `bench-${topic}`);
    const group = `bench-sdk-${topic}`;
    const backend = await connectedAdapter(config, name);
    try {
      await backend.ensureTopic(topic);
      await primeSdk(config, group, topic);
      await pool(Math.ceil(n / 100), 1, async (b) => {
        const outcomes = await backend.publish(envelopes(topic, 100, b * 100));
        if (outcomes.some((o) => !o.ok)) throw new Error(`publish to ${name} failed`);
      });
    } finally {
      await backend.close();
    }

    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    const consumer = sdkConsumer(config, group, topic);
    let seen = 0;
    let first = 0;
    let resolve!: (ms: number) => void;
    const done = new Promise<number>((r) => (resolve = r));
    await consumer.run(async () => {
      if (seen === 0) {
        first = performance.now();
        void session.post('Profiler.start');
      }
      if (++seen === n) resolve(performance.now() - first);
    });
    const ms = await done;
    const { profile } = await session.post('Profiler.stop');
    await consumer.close({ timeoutMs: 10_000 });
    session.disconnect();
    const file = join(dir, `consume-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.log(`${name}: SDK ${Math.round(n / (ms / 1000))} msg/s over ${n} messages; ${file}`);
    for (const { fn, pct } of topSelfTime(profile as unknown as { nodes: ProfileNode[] }, 25)) {
      console.log(`${String(pct).padStart(5)}%  ${fn}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
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
