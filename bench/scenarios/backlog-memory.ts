/**
 * Scenario 6 (backlog half; scenario 1 reports RSS under load): the gateway's only backend points at
 * 127.0.0.1:1, so nothing can be delivered, and `total` messages are published in batches of 1,000. The
 * backlog lives in the SQLite file: RSS is sampled at every tenth of the way and must not grow with it
 * (target under 250 MB).
 */
import { benchTopic, pool } from '../lib/brokers.js';
import { outboxDepth, postBatch, startGateway } from '../lib/gateway.js';
import { rssMb, rssSampler } from '../lib/proc.js';

const BATCH = 1_000;

/** Scenario 6's figures (one round: the backlog is the measurement). */
export interface BacklogResult {
  messages: number;
  depth: number;
  /** RSS after start, MB. */
  startMb: number;
  /** RSS at each tenth of the backlog, MB. */
  atTenthsMb: number[];
  peakMb: number;
  /** RSS at the end minus RSS at the first tenth, MB. */
  growthMb: number;
  seconds: number;
}

export async function backlogMemory(total: number): Promise<BacklogResult> {
  const g = await startGateway(
    { down: { type: 'redis', url: 'redis://127.0.0.1:1', partitions: 6 } },
    { logLevel: 'error' },
  );
  try {
    const pid = g.child.pid!;
    const startMb = await rssMb(pid);
    const sampler = rssSampler(pid, 250);
    const topic = benchTopic('backlog');
    const batches = total / BATCH;
    const tenth = Math.max(1, Math.floor(batches / 10));
    const atTenthsMb: number[] = [];
    let sent = 0;
    const started = performance.now();
    await pool(batches, 2, async (b) => {
      const messages = Array.from({ length: BATCH }, (_, j) => ({
        key: `k-${(b * BATCH + j) % 1000}`,
        data: { order: b * BATCH + j, items: ['a', 'b'] },
      }));
      await postBatch(g.url, topic, messages);
      if (++sent % tenth === 0) atTenthsMb.push(await rssMb(pid));
    });
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    const depth = await outboxDepth(g.url);
    const peakMb = Math.max(sampler.stop(), ...atTenthsMb);
    const result = {
      messages: total,
      depth,
      startMb,
      atTenthsMb,
      peakMb,
      growthMb: (atTenthsMb.at(-1) ?? 0) - (atTenthsMb[0] ?? 0),
      seconds,
    };
    console.log(
      `scenario 6: backlog of ${total} with the backend unreachable (depth ${depth}), ${seconds}s to publish`,
    );
    console.log(
      `  RSS start ${startMb} MB, at each tenth ${atTenthsMb.join(' ')} MB, peak ${peakMb} MB, growth ${result.growthMb} MB (target < 250 MB, flat)`,
    );
    return result;
  } finally {
    await g.close();
  }
}
