/**
 * claim() against a large backlog. Loads N pending messages (default 100k) in batches, shaped to hurt a naive
 * per-key query: `hot` keys with thousands of queued messages each, plus keyless and single-message keys.
 * Then times claim({ limit }) while the hot keys' heads are in flight, and a full drain.
 * Usage: npx tsx bench/outbox/claim-100k.ts [messages=100000] [limit=100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '../../src/ids.js';
import { SqliteOutbox } from '../../src/outbox/index.js';
import type { NewMessage } from '../../src/ports/outbox.js';

const [total = 100_000, limit = 100] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'mqgate-claim-'));
const outbox = new SqliteOutbox({ path: join(dir, 'outbox.db'), maxBytes: 8 * 2 ** 30, retentionMs: 1 });
await outbox.start();
const data = Buffer.alloc(200, 120);
const make = (i: number): NewMessage => ({
  id: uuidv7(),
  topic: `topic-${i % 4}`,
  // 60% on 20 hot keys, 20% keyless, 20% on their own key.
  key: i % 5 < 3 ? `hot-${i % 20}` : i % 5 === 3 ? undefined : `own-${i}`,
  type: 't',
  source: 's',
  time: new Date().toISOString(),
  datacontenttype: 'application/octet-stream',
  headers: {},
  data,
});
let t = performance.now();
for (let i = 0; i < total; i += 1000) {
  await outbox.append(Array.from({ length: Math.min(1000, total - i) }, (_, j) => make(i + j)));
}
const loadMs = performance.now() - t;

const inFlight: string[] = [];
const time = async (label: string, owner: string) => {
  const t0 = performance.now();
  const got = await outbox.claim({ limit, leaseMs: 600_000, owner });
  const ms = +(performance.now() - t0).toFixed(2);
  inFlight.push(...got.map((e) => e.id));
  return { label, claimed: got.length, ms };
};
const results = [await time(`first claim (${total} pending)`, 'a')];
for (let i = 0; i < 5; i++) results.push(await time(`claim ${i + 2} (hot heads in flight)`, 'b'));
// Drain: deliver what is in flight, then claim and mark delivered until empty (the relay's steady state).
t = performance.now();
await Promise.all(inFlight.map((id) => outbox.markDelivered(id, 'bench', {})));
let drained = results.reduce((n, r) => n + r.claimed, 0);
let claims = 0;
for (;;) {
  const got = await outbox.claim({ limit, leaseMs: 600_000, owner: 'c' });
  if (got.length === 0) break;
  claims++;
  drained += got.length;
  await Promise.all(got.map((e) => outbox.markDelivered(e.id, 'bench', {})));
}
const drainMs = performance.now() - t;
const stats = await outbox.stats();
await outbox.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ total, limit, loadMs: Math.round(loadMs), results }, null, 1));
console.log(
  JSON.stringify({ drainClaims: claims, drained, drainMs: Math.round(drainMs), left: stats.depth }),
);
