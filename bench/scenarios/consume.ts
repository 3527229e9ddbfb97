/**
 * Scenario 4: consumer throughput per backend. The same `n` messages (published once with the adapter) are
 * consumed by the SDK's Consumer (dedup on: the default in-memory inbox; ordered; default concurrency) and
 * by the broker's plain client (bench/lib/raw-consumers.ts). messages/s from the first message handled to
 * the n-th, so the group join, which both pay, is left out.
 */
import { pino } from 'pino';
import type { Config } from '../../src/config/types.js';
import { Consumer } from '../../src/sdk/index.js';
import {
  type BackendName,
  benchTopic,
  configFor,
  connectedAdapter,
  envelopes,
  PARTITIONS,
  pool,
  type StackEnv,
} from '../lib/brokers.js';
import { until } from '../lib/proc.js';
import { rawConsumer } from '../lib/raw-consumers.js';
import { fmt, ratio, type Spread, spread } from '../lib/stats.js';

/** One backend's figures, messages/s. */
export interface ConsumeResult {
  messages: number;
  sdk: Spread;
  raw: Spread;
  ratio: number;
}

/** The SDK consumer of the scenario: in-memory inbox (dedup on), ordered, default concurrency. */
export function sdkConsumer(config: Config, group: string, topic: string): Consumer {
  return new Consumer({
    config,
    group,
    topics: [topic],
    dedup: { store: 'memory' },
    logger: pino({ level: 'error' }),
  });
}

/** Makes the SDK group exist (its RabbitMQ queues bound, its Redis groups created) before the publish. */
export async function primeSdk(config: Config, group: string, topic: string): Promise<void> {
  const consumer = sdkConsumer(config, group, topic);
  let assigned = 0;
  consumer.on('rebalance', (e) => (assigned += e.assigned.length - e.revoked.length));
  await consumer.run(async () => {});
  await until(() => assigned >= PARTITIONS, 60_000, 'SDK group assignment', 50);
  await consumer.close();
}

/** Messages/s of the SDK from its first message handled to the n-th. */
export async function sdkRate(config: Config, group: string, topic: string, n: number): Promise<number> {
  const consumer = sdkConsumer(config, group, topic);
  let seen = 0;
  let first = 0;
  let resolve!: (rate: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  await consumer.run(async () => {
    if (seen === 0) first = performance.now();
    if (++seen === n) resolve(n / ((performance.now() - first) / 1000));
  });
  try {
    return await done;
  } finally {
    await consumer.close({ timeoutMs: 10_000 });
  }
}

async function round(name: BackendName, env: StackEnv, n: number, dir: string): Promise<[number, number]> {
  const topic = benchTopic('consume');
  const config = configFor(name, env, dir, `bench-${topic}`);
  const group = `bench-sdk-${topic}`;
  const raw = rawConsumer(name, config, topic);
  const backend = await connectedAdapter(config, name);
  try {
    await backend.ensureTopic(topic);
    await raw.prepare();
    await primeSdk(config, group, topic);
    // One batch at a time: concurrent batches could interleave a key's messages, which the relay never does.
    await pool(n / 100, 1, async (b) => {
      const outcomes = await backend.publish(envelopes(topic, 100, b * 100));
      if (outcomes.some((o) => !o.ok)) throw new Error(`publish to ${name} failed`);
    });
  } finally {
    await backend.close();
  }
  const rawRate = await raw.consume(n);
  const sdkRateV = await sdkRate(config, group, topic, n);
  return [sdkRateV, rawRate];
}

/** Runs scenario 4 for each backend. */
export async function consume(
  env: StackEnv,
  backends: readonly BackendName[],
  rounds: number,
  n: number,
  dir: string,
): Promise<Record<string, ConsumeResult>> {
  console.log(
    `scenario 4: consumer throughput, ${n} messages, SDK (dedup memory) vs plain client, ${rounds} rounds`,
  );
  const out: Record<string, ConsumeResult> = {};
  for (const name of backends) {
    const sdk: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const [s, w] = await round(name, env, n, dir);
      sdk.push(s);
      raw.push(w);
    }
    const sdkS = spread(sdk);
    const rawS = spread(raw);
    out[name] = { messages: n, sdk: sdkS, raw: rawS, ratio: ratio(sdkS, rawS) };
    console.log(
      `  ${name.padEnd(8)} sdk ${fmt(sdkS)} msg/s  raw ${fmt(rawS)} msg/s  ratio ${out[name]!.ratio}x (target 0.8x)`,
    );
  }
  return out;
}
