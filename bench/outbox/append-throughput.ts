/**
 * Appends/s with C concurrent callers, each awaiting its append before the next (like HTTP requests on
 * C connections). Usage: npx tsx bench/outbox/append-throughput.ts [callers=50] [seconds=5] [bytes=256]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SqliteOutbox } from '../../src/outbox/index.js';

const [callers = 50, seconds = 5, bytes = 256] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'mqgate-bench-'));
const outbox = new SqliteOutbox({ path: join(dir, 'outbox.db'), maxBytes: 8 * 2 ** 30, retentionMs: 1 });
await outbox.start();
let commits = 0;
let commitMs = 0;
let syncMs = 0;
const commitDurations: number[] = [];
outbox.on('commit', (c) => {
  commits++;
  commitMs += c.durationMs;
  syncMs += c.syncMs;
  commitDurations.push(c.durationMs);
});
const data = Buffer.alloc(bytes, 97);
const latencies: number[] = [];
const deadline = performance.now() + seconds * 1000;
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
async function caller(n: number): Promise<void> {
  let i = 0;
  while (performance.now() < deadline) {
    const started = performance.now();
    await outbox.append([
      {
        id: randomUUID(),
        topic: 'bench',
        key: `k${n}-${i++ % 10}`,
        type: 't',
        source: 's',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        headers: { 'content-type': 'application/json' },
        data,
      },
    ]);
    latencies.push(performance.now() - started);
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: callers }, (_, n) => caller(n)));
const elapsed = (performance.now() - t0) / 1000;
loop.disable();
await outbox.close();
rmSync(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.floor((latencies.length - 1) * p)]!.toFixed(2);
console.log(
  JSON.stringify({
    callers,
    bytes,
    appends: latencies.length,
    appendsPerSec: Math.round(latencies.length / elapsed),
    commits,
    perCommit: +(latencies.length / commits).toFixed(1),
    avgCommitMs: +(commitMs / commits).toFixed(2),
    avgSyncMs: +(syncMs / commits).toFixed(2),
    // COMMITs over 10 ms are mostly SQLite's auto-checkpoint (every 1,000 WAL pages), which runs inside COMMIT.
    commitP99Ms: +[...commitDurations].sort((a, b) => a - b)[Math.floor((commits - 1) * 0.99)]!.toFixed(2),
    commitMsOver10msShare: +(
      commitDurations.filter((d) => d > 10).reduce((a, b) => a + b, 0) / commitMs
    ).toFixed(2),
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    eventLoopBlockedMsP99: +(loop.percentile(99) / 1e6).toFixed(2),
  }),
);
