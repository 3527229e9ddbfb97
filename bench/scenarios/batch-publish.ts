/**
 * Scenario 2: batch publish end to end, per backend. The gateway: `POST ...:batch` of 100 messages, at most
 * `inFlight` requests at once, timed from the first request until `GET /v1/outbox` says depth 0 (every
 * message acked by the broker). Direct: the same backend's adapter (`publish()`, the relay's own call: acks=-1,
 * publisher confirms, XADD under `appendfsync always`) with the same batches and the same `inFlight`.
 */
import {
  type BackendName,
  backendEntry,
  benchTopic,
  configFor,
  connectedAdapter,
  envelopes,
  payload,
  pool,
  type StackEnv,
} from '../lib/brokers.js';
import { drained, postBatch, startGateway } from '../lib/gateway.js';
import { fmt, ratio, type Spread, spread } from '../lib/stats.js';

export const BATCH = 100;
const IN_FLIGHT = 4;

/** One backend's figures, messages/s. */
export interface BatchPublishResult {
  messages: number;
  batch: number;
  inFlight: number;
  gateway: Spread;
  direct: Spread;
  ratio: number;
}

async function throughGateway(name: BackendName, env: StackEnv, total: number): Promise<number> {
  const g = await startGateway({ [name]: backendEntry(name, env, benchTopic('x')) }, { logLevel: 'warn' });
  try {
    const topic = benchTopic('batch');
    // Warm-up: the topic is created and the producer connected before the clock starts, as for direct.
    await postBatch(g.url, topic, [{ key: 'warm', data: payload(-1) }]);
    await drained(g.url, 60_000);
    const started = performance.now();
    await pool(total / BATCH, IN_FLIGHT, (b) =>
      postBatch(
        g.url,
        topic,
        Array.from({ length: BATCH }, (_, j) => ({
          key: `k-${(b * BATCH + j) % 64}`,
          data: payload(b * BATCH + j),
        })),
      ),
    );
    await drained(g.url, 600_000);
    return total / ((performance.now() - started) / 1000);
  } finally {
    await g.close();
  }
}

async function direct(name: BackendName, env: StackEnv, total: number, dir: string): Promise<number> {
  const backend = await connectedAdapter(configFor(name, env, dir, benchTopic('x')), name);
  try {
    const topic = benchTopic('batch');
    await backend.ensureTopic(topic);
    const batches = Array.from({ length: total / BATCH }, (_, b) => envelopes(topic, BATCH, b * BATCH));
    await backend.publish(envelopes(topic, 1));
    const started = performance.now();
    await pool(batches.length, IN_FLIGHT, async (b) => {
      const outcomes = await backend.publish(batches[b]!);
      const failed = outcomes.find((o) => !o.ok);
      if (failed && !failed.ok) throw failed.error;
    });
    return total / ((performance.now() - started) / 1000);
  } finally {
    await backend.close();
  }
}

/** Runs scenario 2 for each backend, gateway and direct alternating within each round. */
export async function batchPublish(
  env: StackEnv,
  backends: readonly BackendName[],
  rounds: number,
  total: number,
  dir: string,
): Promise<Record<string, BatchPublishResult>> {
  const out: Record<string, BatchPublishResult> = {};
  console.log(
    `scenario 2: batch publish end to end, ${total} messages in batches of ${BATCH}, ${IN_FLIGHT} in flight, ${rounds} rounds`,
  );
  for (const name of backends) {
    const g: number[] = [];
    const d: number[] = [];
    for (let r = 0; r < rounds; r++) {
      d.push(await direct(name, env, total, dir));
      g.push(await throughGateway(name, env, total));
    }
    const gateway = spread(g);
    const directS = spread(d);
    out[name] = {
      messages: total,
      batch: BATCH,
      inFlight: IN_FLIGHT,
      gateway,
      direct: directS,
      ratio: ratio(gateway, directS),
    };
    console.log(
      `  ${name.padEnd(8)} gateway ${fmt(gateway)} msg/s  direct ${fmt(directS)} msg/s  ratio ${out[name]!.ratio}x (target 0.8x)`,
    );
  }
  return out;
}
