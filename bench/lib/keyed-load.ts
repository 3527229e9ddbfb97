/**
 * A load generator in its own process (`tsx bench/lib/keyed-load.ts <url> <connections> <seconds>`) for
 * publishes whose every message has its own key, which autocannon's fixed body cannot do. `connections` loops
 * each keep one request in flight over keep-alive; prints `{ rps, p50, p99, non2xx }` as JSON.
 */
import { randomUUID } from 'node:crypto';

const [url, connections, seconds] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const latencies: number[] = [];
let non2xx = 0;
const stopAt = performance.now() + seconds * 1000;

async function loop(): Promise<void> {
  while (performance.now() < stopAt) {
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: randomUUID(), data: { order: 42, items: ['a', 'b'] } }),
    });
    await res.arrayBuffer();
    if (res.status < 200 || res.status > 299) non2xx++;
    latencies.push(performance.now() - started);
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: connections }, loop));
const elapsedS = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
console.log(JSON.stringify({ rps: latencies.length / elapsedS, p50: at(0.5), p99: at(0.99), non2xx }));
